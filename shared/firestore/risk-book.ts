import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import type { AlertMessage } from '../domain/messages.js';
import {
  type AgentExposure,
  AlertEpisode,
  type EpisodeTransition,
  type RiskLimits,
  type ScopeSnapshot,
  ScopeMemory,
  episodeTransitions,
  rearmHalts,
  rearmNote,
  evaluateRisk,
} from '../domain/risk.js';
import { addToOutbox } from './alert-outbox.js';
import { COLLECTIONS } from './collections.js';
import { TradingState, noteOnTradingState, setTradingState } from './trading-states.js';
import { runTransaction } from './transactions.js';

/**
 * Persisted risk: peaks, snapshots, alert episodes and the halts they cause, written in one
 * transaction per evaluation. An evaluation for an instant not after the last one changes
 * nothing, so repeated or concurrent runs for the same minute open no second episode.
 */

/** The condition whose end lifts the reduce-only state it set. */
const REDUCING_LIMIT = 'prices_stale';

const Memory = z.object({
  scopes: z.record(z.string(), ScopeMemory),
  lastEvaluatedAt: z.string(),
});


export interface EvaluationResult {
  /** False when this instant was already evaluated. */
  readonly evaluated: boolean;
  readonly snapshots: readonly ScopeSnapshot[];
  readonly transitions: readonly EpisodeTransition[];
  /** Scopes this evaluation halted (not already halted), with the episode that did it. */
  readonly halted?: readonly { readonly scope: string; readonly episodeId: string; readonly reason: string }[];
}

export function alertMessageOf(t: EpisodeTransition): AlertMessage {
  const e = t.episode;
  return {
    episodeId: e.episodeId,
    transition: t.transition,
    key: e.key,
    limitType: e.limitType,
    scope: e.scope,
    severity: e.severity,
    message: t.transition === 'open' ? e.message : `resolved: ${e.message}`,
    value: e.value,
    threshold: e.threshold,
    source: 'drawdown-evaluator',
    openedAt: e.openedAt,
    ...(e.resolvedAt ? { resolvedAt: e.resolvedAt } : {}),
  };
}

export class RiskBook {
  constructor(private readonly db: Firestore) {}

  /** The instant of the last evaluation, read without a transaction; undefined before the first. */
  async lastEvaluatedAt(): Promise<Date | undefined> {
    const snap = await this.db.collection(COLLECTIONS.riskState).doc('memory').get();
    const at = snap.get('lastEvaluatedAt') as unknown;
    return typeof at === 'string' ? new Date(at) : undefined;
  }

  async evaluate(agents: readonly AgentExposure[], limits: RiskLimits, at: Date): Promise<EvaluationResult> {
    const memoryRef = this.db.collection(COLLECTIONS.riskState).doc('memory');
    return runTransaction(this.db, async (tx) => {
      const memorySnap = await tx.get(memoryRef);
      const memory = memorySnap.exists ? Memory.parse(memorySnap.data()) : undefined;
      if (memory && Date.parse(memory.lastEvaluatedAt) >= at.getTime()) return { evaluated: false, snapshots: [], transitions: [] };
      const openSnap = await tx.get(this.db.collection(COLLECTIONS.alertEpisodes).where('state', '==', 'open'));
      const open = openSnap.docs.map((d) => AlertEpisode.parse(d.data()));
      const evaluation = evaluateRisk(agents, memory?.scopes ?? {}, limits, at, new Set(open.map((e) => e.key)));
      const transitions: EpisodeTransition[] = episodeTransitions(open, evaluation.conditions, at);
      // Scopes an open episode of a halting condition would halt: a resume may have set them trading again.
      const armedScopes = open.flatMap((e) => evaluation.conditions.find((c) => c.key === e.key)?.halts ?? []);
      const haltScopes = [...new Set(transitions.flatMap((t) => {
        const condition = evaluation.conditions.find((c) => c.key === t.episode.key);
        return t.transition === 'open' && condition?.halts ? [condition.halts] : [];
      }))];
      // Reduce-only while a condition holds (prices stale), active again when it ends.
      const reduceScopes = [...new Set(transitions.flatMap((t) => {
        const condition = evaluation.conditions.find((c) => c.key === t.episode.key);
        return t.transition === 'open' && condition?.reduces ? [condition.reduces] : [];
      }))];
      const restoreScopes = [...new Set(transitions.flatMap((t) => (t.transition === 'resolve' && t.episode.limitType === REDUCING_LIMIT ? [t.episode.scope] : [])))];
      const stateScopes = [...new Set([...haltScopes, ...reduceScopes, ...restoreScopes, ...armedScopes])];
      const stateSnaps = stateScopes.length > 0 ? await tx.getAll(...stateScopes.map((s) => this.db.collection(COLLECTIONS.tradingStates).doc(s))) : [];
      const stateOf = (scope: string) => {
        const snap = stateSnaps[stateScopes.indexOf(scope)];
        return snap?.exists ? TradingState.parse(snap.data()) : undefined;
      };

      const stillOpen = open.filter((e) => !transitions.some((t) => t.episode.episodeId === e.episodeId));
      for (const step of rearmHalts(stillOpen, evaluation.conditions, (scope) => stateOf(scope)?.state === 'active', limits.rearmStepFraction, at)) {
        if (step.kind === 'rearm') {
          tx.set(this.db.collection(COLLECTIONS.alertEpisodes).doc(step.episode.episodeId), step.episode);
          // The audit beside the operator's resume says where the halt stands armed now.
          noteOnTradingState(this.db, tx, { scope: step.episode.scope, state: 'active', reason: rearmNote(step.episode), changedBy: 'drawdown-evaluator', at });
          continue;
        }
        transitions.push({ transition: 'resolve', episode: step.resolved }, { transition: 'open', episode: step.opened });
        if (!haltScopes.includes(step.scope)) haltScopes.push(step.scope);
      }

      tx.set(memoryRef, { scopes: evaluation.memory, lastEvaluatedAt: at.toISOString() });
      tx.set(this.db.collection(COLLECTIONS.riskSnapshots).doc(at.toISOString()), { evaluatedAt: at.toISOString(), snapshots: evaluation.snapshots });
      for (const t of transitions) {
        tx.set(this.db.collection(COLLECTIONS.alertEpisodes).doc(t.episode.episodeId), t.episode);
        addToOutbox(this.db, tx, alertMessageOf(t));
      }
      const halted: { scope: string; episodeId: string; reason: string }[] = [];
      for (const scope of haltScopes) {
        if (stateOf(scope)?.state === 'halted') continue;
        const episode = transitions.find((t) => t.transition === 'open' && evaluation.conditions.find((c) => c.key === t.episode.key)?.halts === scope)?.episode;
        const reason = episode?.message ?? 'risk limit';
        setTradingState(this.db, tx, { scope, state: 'halted', reason, changedBy: 'drawdown-evaluator', at });
        halted.push({ scope, episodeId: episode?.episodeId ?? `halt:${scope}@${at.toISOString()}`, reason });
      }
      for (const scope of reduceScopes) {
        // A halt outranks reduce-only; so does a halt decided in this same evaluation.
        if (haltScopes.includes(scope) || stateOf(scope)?.state !== undefined && stateOf(scope)?.state !== 'active') continue;
        const reason = transitions.find((t) => evaluation.conditions.find((c) => c.key === t.episode.key)?.reduces === scope)?.episode.message ?? 'risk condition';
        setTradingState(this.db, tx, { scope, state: 'reducing', reason, changedBy: 'drawdown-evaluator', at });
      }
      for (const scope of restoreScopes) {
        const current = stateOf(scope);
        // Only what the evaluator made reduce-only; an operator's or a halt's state stays.
        if (current?.state !== 'reducing' || current.changedBy !== 'drawdown-evaluator' || reduceScopes.includes(scope)) continue;
        setTradingState(this.db, tx, { scope, state: 'active', reason: 'prices are fresh again', changedBy: 'drawdown-evaluator', at });
      }
      return { evaluated: true, snapshots: evaluation.snapshots, transitions, halted };
    });
  }

  /**
   * An audited reset of a scope's peak to its equity at the last evaluation: the only way a
   * peak goes down. Recorded in tradingStateChanges with who and why.
   */
  async resetPeak(scope: string, by: string, reason: string, at: Date): Promise<{ from: number; to: number } | undefined> {
    const memoryRef = this.db.collection(COLLECTIONS.riskState).doc('memory');
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(memoryRef);
      if (!snap.exists) return undefined;
      const memory = Memory.parse(snap.data());
      const prior = memory.scopes[scope];
      const last = await tx.get(this.db.collection(COLLECTIONS.riskSnapshots).doc(memory.lastEvaluatedAt));
      const equity = (last.get('snapshots') as ScopeSnapshot[] | undefined)?.find((s) => s.scope === scope)?.equityMicros;
      if (!prior || equity === undefined) return undefined;
      const reset = { from: prior.peakEquityMicros, to: equity };
      tx.set(memoryRef, { ...memory, scopes: { ...memory.scopes, [scope]: { ...prior, peakEquityMicros: equity } } });
      tx.create(this.db.collection(COLLECTIONS.tradingStateChanges).doc(), { scope, peakReset: reset, reason, changedBy: by, changedAt: at.toISOString() });
      return reset;
    });
  }
}
