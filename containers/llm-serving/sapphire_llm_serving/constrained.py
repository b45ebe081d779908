"""Constrained JSON generation for the schema subset of ``schema.py``, with any causal LM.

The decoder writes the object's skeleton itself (``{"action": ``, ``, "symbol": `` ...) and lets
the model choose each value, token by token, among the tokens that keep the value valid:

- an enum, a boolean, a number or an integer is one of a finite set of JSON literals (numbers on
  a grid of 101 points between minimum and maximum, integers every one up to 1,000 of them);
- a free string is a quote, 0..maxLength printable ASCII characters other than ``"`` and ``\\``,
  and a closing quote.

Each value is followed by the skeleton's next character (``,`` or ``}``), so the model also
chooses where a value ends ("1" or "10"). The output parses as JSON and validates against the
schema by construction. Token strings are decoded one token at a time, which is exact for
byte-level BPE tokenizers (GPT-2 style, like the test models); the vLLM engine does this on GPUs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .schema import BooleanField, EnumField, Field, NumberField, ObjectSchema, StringField

FREE_STRING_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}
NUMBER_GRID_POINTS = 101
MAX_INTEGER_CANDIDATES = 1000


class GenerationError(Exception):
    """The answer could not be completed (for instance, max_tokens ran out)."""


@dataclass(frozen=True)
class Literal:
    text: str


class ValueConstraint(Protocol):
    def next_chars(self, text: str) -> frozenset[str]:
        """The characters that may follow ``text``."""
        ...

    def accepts(self, text: str, piece: str) -> bool:
        """Whether ``text + piece`` is still the beginning of a valid value."""
        ...

    def complete(self, text: str) -> bool: ...

    def max_chars(self) -> int: ...


@dataclass
class Choice:
    """One of a finite set of strings, each ending with the delimiter that follows the value."""

    candidates: tuple[str, ...]
    _next: dict[str, frozenset[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        following: dict[str, set[str]] = {}
        for candidate in self.candidates:
            for i in range(len(candidate)):
                following.setdefault(candidate[:i], set()).add(candidate[i])
        self._next = {prefix: frozenset(chars) for prefix, chars in following.items()}
        self._complete = frozenset(self.candidates)

    def next_chars(self, text: str) -> frozenset[str]:
        return self._next.get(text, frozenset())

    def accepts(self, text: str, piece: str) -> bool:
        whole = text + piece
        return whole in self._next or whole in self._complete

    def complete(self, text: str) -> bool:
        return text in self._complete

    def max_chars(self) -> int:
        return max(len(c) for c in self.candidates)


@dataclass
class FreeString:
    """A JSON string of printable ASCII without escapes, then the delimiter."""

    min_length: int
    max_length: int
    delimiter: str
    _memo: tuple[str, tuple[int, int] | None] = field(default=("", (0, 0)), init=False, repr=False)

    def _state(self, text: str) -> tuple[int, int] | None:
        """(phase, characters) after ``text``: 0 before the opening quote, 1 inside the string,
        2 after the closing quote, 3 after the delimiter; None when ``text`` is not valid."""
        if text == self._memo[0]:
            return self._memo[1]
        state = self._advance((0, 0), text)
        self._memo = (text, state)
        return state

    def _advance(self, state: tuple[int, int] | None, piece: str) -> tuple[int, int] | None:
        for char in piece:
            if state is None:
                return None
            state = self._step(state[0], state[1], char)
        return state

    def _step(self, phase: int, count: int, char: str) -> tuple[int, int] | None:
        if phase == 0:
            return (1, 0) if char == '"' else None
        if phase == 1:
            if char == '"':
                return (2, count) if count >= self.min_length else None
            return (1, count + 1) if char in FREE_STRING_CHARS and count < self.max_length else None
        if phase == 2:
            return (3, count) if char == self.delimiter else None
        return None

    def next_chars(self, text: str) -> frozenset[str]:
        state = self._state(text)
        if state is None:
            return frozenset()
        phase, count = state
        if phase == 0:
            return frozenset('"')
        if phase == 1:
            chars = FREE_STRING_CHARS if count < self.max_length else frozenset()
            return chars | frozenset('"') if count >= self.min_length else chars
        return frozenset(self.delimiter) if phase == 2 else frozenset()

    def accepts(self, text: str, piece: str) -> bool:
        return self._advance(self._state(text), piece) is not None

    def complete(self, text: str) -> bool:
        state = self._state(text)
        return state is not None and state[0] == 3

    def max_chars(self) -> int:
        return self.max_length + 3


def format_number(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def number_literals(spec: NumberField) -> list[str]:
    if spec.integer:
        low, high = math.ceil(spec.minimum), math.floor(spec.maximum)
        step = max(1, math.ceil((high - low + 1) / MAX_INTEGER_CANDIDATES))
        values = list(range(low, high + 1, step))
        if values[-1] != high:
            values.append(high)
        return [str(v) for v in values]
    literals: list[str] = []
    for k in range(NUMBER_GRID_POINTS):
        text = format_number(spec.minimum + (spec.maximum - spec.minimum) * k / (NUMBER_GRID_POINTS - 1))
        if spec.minimum <= float(text) <= spec.maximum and text not in literals:
            literals.append(text)
    return literals or [format_number(spec.minimum)]


def value_constraint(spec: Field, delimiter: str) -> Choice | FreeString:
    if isinstance(spec, EnumField):
        return Choice(tuple(json.dumps(option) + delimiter for option in spec.options))
    if isinstance(spec, BooleanField):
        return Choice(("true" + delimiter, "false" + delimiter))
    if isinstance(spec, NumberField):
        return Choice(tuple(literal + delimiter for literal in number_literals(spec)))
    if isinstance(spec, StringField):
        return FreeString(spec.min_length, spec.max_length, delimiter)
    raise TypeError(f"unsupported field {spec!r}")


def plan(schema: ObjectSchema) -> list[Literal | Choice | FreeString]:
    """The skeleton and the value constraints, in order: {"a": <a>, "b": <b>}."""
    pieces: list[Literal | Choice | FreeString] = []
    for i, spec in enumerate(schema.fields):
        opening = "{" if i == 0 else " "
        pieces.append(Literal(f"{opening}{json.dumps(spec.name)}: "))
        pieces.append(value_constraint(spec, "," if i < len(schema.fields) - 1 else "}"))
    return pieces


class TokenTable:
    """Each token's text, indexed by its first character; special tokens are never allowed."""

    def __init__(self, tokenizer: Any) -> None:
        special = set(tokenizer.all_special_ids)
        self.by_first_char: dict[str, list[tuple[int, str]]] = {}
        for token_id in range(len(tokenizer)):
            if token_id in special:
                continue
            text = tokenizer.decode([token_id], clean_up_tokenization_spaces=False)
            if text and "\ufffd" not in text:
                self.by_first_char.setdefault(text[0], []).append((token_id, text))

    def allowed(self, constraint: Choice | FreeString, text: str) -> list[tuple[int, str]]:
        return [
            (token_id, piece)
            for char in constraint.next_chars(text)
            for token_id, piece in self.by_first_char.get(char, ())
            if constraint.accepts(text, piece)
        ]


class ConstrainedDecoder:
    """Greedy (temperature 0) or sampled generation of one schema-valid JSON object."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.table = TokenTable(tokenizer)

    def max_positions(self) -> int | None:
        config = self.model.config
        return getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)

    def generate(
        self, prompt_ids: Sequence[int], schema: ObjectSchema, *, max_tokens: int, temperature: float, seed: int
    ) -> str:
        import torch

        pieces = plan(schema)
        limit = self.max_positions()
        longest = sum(len(p.text) if isinstance(p, Literal) else p.max_chars() for p in pieces)
        if limit is not None and len(prompt_ids) + longest > limit:
            raise GenerationError(
                f"the prompt has {len(prompt_ids)} tokens; with the answer that exceeds the model's {limit}"
            )
        generator = torch.Generator().manual_seed(seed)
        step = _Stepper(self.model)
        logits = step.feed(list(prompt_ids))
        output: list[str] = []
        budget = max_tokens
        for piece in pieces:
            if isinstance(piece, Literal):
                logits = step.feed(self._encode(piece.text))
                output.append(piece.text)
                continue
            text = ""
            while not piece.complete(text):
                options = self.table.allowed(piece, text)
                if not options:
                    raise GenerationError(f"no token continues {text!r}: the tokenizer lacks single characters")
                if budget == 0:
                    raise GenerationError(f"max_tokens={max_tokens} is too small to complete the response schema")
                token_id, token_text = options[self._choose(logits, [o[0] for o in options], temperature, generator)]
                text += token_text
                budget -= 1
                logits = step.feed([token_id])
            output.append(text)
        return "".join(output)

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @staticmethod
    def _choose(logits: Any, token_ids: list[int], temperature: float, generator: Any) -> int:
        import torch

        scores = logits[token_ids].float()
        if temperature <= 0:
            return int(torch.argmax(scores))
        probabilities = torch.softmax(scores / temperature, dim=-1)
        return int(torch.multinomial(probabilities, 1, generator=generator))


class _Stepper:
    """Feeds tokens to the model with its key/value cache; returns the last position's logits."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.past: Any = None

    def feed(self, token_ids: list[int]) -> Any:
        import torch

        with torch.inference_mode():
            output = self.model(
                input_ids=torch.tensor([token_ids], device=self.model.device),
                past_key_values=self.past,
                use_cache=True,
            )
        self.past = output.past_key_values
        return output.logits[0, -1]
