import { z } from 'zod';

/**
 * google.protobuf.Value, the type of Vertex predict instances and predictions, to and from
 * plain JSON. (The REST transport hands values back tagged with `kind`.)
 */

export interface ProtoValue {
  nullValue?: 'NULL_VALUE' | 0 | null;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: { fields?: Record<string, ProtoValue> | null } | null;
  listValue?: { values?: ProtoValue[] | null } | null;
  kind?: string;
}

export type Json = null | number | string | boolean | Json[] | { [key: string]: Json };

export function toProtoValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  return { structValue: { fields: Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toProtoValue(v)])) } };
}

const Tagged = z.object({ kind: z.string().optional() }).passthrough();

export function fromProtoValue(value: ProtoValue | null | undefined): Json {
  if (!value) return null;
  Tagged.parse(value);
  const kind = value.kind ?? Object.keys(value).find((k) => k !== 'kind' && (value as Record<string, unknown>)[k] !== undefined);
  switch (kind) {
    case 'numberValue':
      return Number(value.numberValue);
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return Boolean(value.boolValue);
    case 'listValue':
      return (value.listValue?.values ?? []).map(fromProtoValue);
    case 'structValue':
      return Object.fromEntries(Object.entries(value.structValue?.fields ?? {}).map(([k, v]) => [k, fromProtoValue(v)]));
    default:
      return null;
  }
}
