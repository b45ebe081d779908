"""The JSON Schema subset an LLM answer is constrained to, and Sapphire's decision schema.

Supported: one flat object whose properties are
- strings with ``enum`` (of strings),
- free strings with optional ``minLength`` / ``maxLength``,
- numbers and integers with both ``minimum`` and ``maximum``,
- booleans;
``required`` may list any of the properties (every property is always produced) and
``additionalProperties`` may be false (none is ever produced). Anything else is refused with a
400, whichever engine serves: a schema means the same on a laptop and on a GPU.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: A free string without maxLength is still bounded, so generation always ends.
DEFAULT_MAX_STRING_LENGTH = 256
MAX_PROPERTIES = 32
#: What Sapphire's decision allows for the rationale.
RATIONALE_MAX_LENGTH = 200


class SchemaError(Exception):
    """A response schema outside the supported subset, or a prompt to derive none from."""


@dataclass(frozen=True)
class EnumField:
    name: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class StringField:
    name: str
    min_length: int
    max_length: int


@dataclass(frozen=True)
class NumberField:
    name: str
    minimum: float
    maximum: float
    integer: bool


@dataclass(frozen=True)
class BooleanField:
    name: str


Field = EnumField | StringField | NumberField | BooleanField


@dataclass(frozen=True)
class ObjectSchema:
    fields: tuple[Field, ...]
    #: The schema as given (or as built from the prompt), for engines that take JSON Schema.
    source: Mapping[str, Any]

    def validate(self, value: Any) -> list[str]:
        """What is wrong with ``value`` against this schema (empty when it is valid)."""
        if not isinstance(value, dict):
            return ["not a JSON object"]
        problems = []
        names = {field.name for field in self.fields}
        problems += [f"unexpected property {key!r}" for key in value if key not in names]
        for field in self.fields:
            if field.name not in value:
                problems.append(f"{field.name}: missing")
                continue
            item = value[field.name]
            if isinstance(field, EnumField) and item not in field.options:
                problems.append(f"{field.name}: {item!r} is not one of {list(field.options)}")
            elif isinstance(field, StringField) and (
                not isinstance(item, str) or not field.min_length <= len(item) <= field.max_length
            ):
                problems.append(f"{field.name}: not a string of {field.min_length}..{field.max_length} characters")
            elif isinstance(field, BooleanField) and not isinstance(item, bool):
                problems.append(f"{field.name}: not a boolean")
            elif isinstance(field, NumberField):
                is_number = isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item)
                if not is_number or (field.integer and not float(item).is_integer()):
                    problems.append(f"{field.name}: not {'an integer' if field.integer else 'a number'}")
                elif not field.minimum <= item <= field.maximum:
                    problems.append(f"{field.name}: {item} outside [{field.minimum}, {field.maximum}]")
        return problems


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SchemaError(f"{what} must be a finite number")
    return float(value)


def _field(name: str, spec: Any) -> Field:
    where = f"response_schema.properties.{name}"
    if not isinstance(spec, dict):
        raise SchemaError(f"{where} must be an object")
    kind = spec.get("type")
    supported_keys = {"type", "enum", "minimum", "maximum", "minLength", "maxLength", "description", "title"}
    unsupported = sorted(set(spec) - supported_keys)
    if unsupported:
        raise SchemaError(f"{where}: keywords {unsupported} are not supported")
    if "enum" in spec:
        options = spec["enum"]
        if (
            kind not in (None, "string")
            or not isinstance(options, list)
            or not options
            or not all(isinstance(o, str) for o in options)
        ):
            raise SchemaError(f"{where}.enum must be a non-empty array of strings")
        return EnumField(name, tuple(dict.fromkeys(options)))
    if kind == "string":
        minimum = spec.get("minLength", 0)
        maximum = spec.get("maxLength", DEFAULT_MAX_STRING_LENGTH)
        if (
            not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (minimum, maximum))
            or minimum > maximum
        ):
            raise SchemaError(f"{where}: minLength/maxLength must be integers with 0 <= minLength <= maxLength")
        return StringField(name, minimum, maximum)
    if kind in ("number", "integer"):
        if "minimum" not in spec or "maximum" not in spec:
            raise SchemaError(f"{where}: numbers need both minimum and maximum")
        low, high = _number(spec["minimum"], f"{where}.minimum"), _number(spec["maximum"], f"{where}.maximum")
        if low > high:
            raise SchemaError(f"{where}: minimum is above maximum")
        if kind == "integer" and math.ceil(low) > math.floor(high):
            raise SchemaError(f"{where}: no integer between minimum and maximum")
        return NumberField(name, low, high, integer=kind == "integer")
    if kind == "boolean":
        return BooleanField(name)
    raise SchemaError(f"{where}: type {kind!r} is not supported (string, number, integer, boolean)")


def compile_schema(schema: Any) -> ObjectSchema:
    if not isinstance(schema, dict):
        raise SchemaError("response_schema must be a JSON Schema object")
    unsupported = sorted(
        set(schema) - {"type", "properties", "required", "additionalProperties", "title", "description", "$schema"}
    )
    if unsupported:
        raise SchemaError(f"response_schema: keywords {unsupported} are not supported")
    if schema.get("type") != "object":
        raise SchemaError('response_schema must have "type": "object"')
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise SchemaError("response_schema.properties must be a non-empty object")
    if len(properties) > MAX_PROPERTIES:
        raise SchemaError(f"response_schema has more than {MAX_PROPERTIES} properties")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) and r in properties for r in required):
        raise SchemaError("response_schema.required must list property names")
    if schema.get("additionalProperties", False) not in (True, False):
        raise SchemaError("response_schema.additionalProperties must be true or false")
    return ObjectSchema(tuple(_field(name, spec) for name, spec in properties.items()), schema)


def decision_schema(symbols: list[str], max_leverage: int) -> dict[str, Any]:
    """The schema Sapphire sends for an agent's decision (and builds here from its prompt)."""
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["BUY", "SELL", "HOLD"]},
            "symbol": {"type": "string", "enum": list(symbols)},
            "size_fraction": {"type": "number", "minimum": 0, "maximum": 1},
            "leverage": {"type": "integer", "minimum": 1, "maximum": max_leverage},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "rationale": {"type": "string", "maxLength": RATIONALE_MAX_LENGTH},
        },
        "required": ["action", "symbol", "size_fraction", "leverage", "confidence", "rationale"],
        "additionalProperties": False,
    }


_SYMBOLS = re.compile(r'"symbol":\s*one of\s*(\[[^\]\n]*\])')
_LEVERAGE = re.compile(r"integer from 1 to (\d+)")


def schema_from_prompt(prompt: str) -> dict[str, Any]:
    """The decision schema from a prompt written by llmPrompt (shared/inference/models.ts):
    its ``"symbol": one of [...]`` and ``integer from 1 to N`` lines."""
    symbols_match = _SYMBOLS.search(prompt)
    leverage_match = _LEVERAGE.search(prompt)
    if not symbols_match or not leverage_match:
        raise SchemaError(
            "no response_schema, and the prompt does not name its symbols ('\"symbol\": one of [...]') "
            "and maximum leverage ('integer from 1 to N')"
        )
    try:
        symbols = json.loads(symbols_match.group(1))
    except json.JSONDecodeError:
        raise SchemaError("the prompt's symbol list is not a JSON array") from None
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) and s for s in symbols):
        raise SchemaError("the prompt's symbol list must be a non-empty array of strings")
    max_leverage = int(leverage_match.group(1))
    if max_leverage < 1:
        raise SchemaError("the prompt's maximum leverage must be at least 1")
    return decision_schema(symbols, max_leverage)
