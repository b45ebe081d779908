"""The instance Sapphire sends (VertexLlmModel in shared/inference/models.ts) and its checks.

    {"prompt": str, "max_tokens": int, "temperature": float, "raw_response": bool,
     "response_schema": {JSON Schema}}                                   (response_schema optional)

The prediction is one string: the JSON text the model generated, valid against the response
schema by construction. Without a schema (absent or null), the decision schema is built from
the prompt.
``raw_response`` false prefixes the text with "Prompt:\\n<prompt>\\nOutput:\\n", as Vertex's own
vLLM container does; Sapphire sends true.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sapphire_common.vertex_http import BadRequest

from .schema import ObjectSchema, SchemaError, compile_schema, schema_from_prompt

FIELDS = {"prompt", "max_tokens", "temperature", "raw_response", "response_schema"}
MAX_PROMPT_CHARS = 64_000
MAX_TOKENS_LIMIT = 4096
DEFAULT_MAX_TOKENS = 256
MAX_TEMPERATURE = 2.0


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    max_tokens: int
    temperature: float
    raw_response: bool
    schema: ObjectSchema


def parse_instance(index: int, raw: Any) -> GenerationRequest:
    where = f"instances[{index}]"
    if not isinstance(raw, dict):
        raise BadRequest(f'{where} must be an object {{"prompt": "...", ...}}')
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise BadRequest(f"{where} has unknown fields {unknown}; expected some of {sorted(FIELDS)}")

    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest(f"{where}.prompt must be a non-empty string")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest(f"{where}.prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS}")

    max_tokens = raw.get("max_tokens", DEFAULT_MAX_TOKENS)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise BadRequest(f"{where}.max_tokens must be an integer from 1 to {MAX_TOKENS_LIMIT}")

    temperature = raw.get("temperature", 0.0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature):
        raise BadRequest(f"{where}.temperature must be a number")
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise BadRequest(f"{where}.temperature must be between 0 and {MAX_TEMPERATURE}")

    raw_response = raw.get("raw_response", True)
    if not isinstance(raw_response, bool):
        raise BadRequest(f"{where}.raw_response must be true or false")

    try:
        given = raw.get("response_schema")
        schema_json = given if given is not None else schema_from_prompt(prompt)
        schema = compile_schema(schema_json)
    except SchemaError as problem:
        raise BadRequest(f"{where}: {problem}") from None
    return GenerationRequest(prompt, max_tokens, float(temperature), raw_response, schema)


def present(request: GenerationRequest, text: str) -> str:
    return text if request.raw_response else f"Prompt:\n{request.prompt}\nOutput:\n{text}"
