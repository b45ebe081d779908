"""Engines generate the answers: vLLM with guided JSON decoding on GPUs, transformers with the
constrained decoder of ``constrained.py`` on CPUs (tests, local runs). Both take the same
requests and answer the same kind of text: JSON valid against the request's schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..instances import GenerationRequest


class Engine(Protocol):
    name: str

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """One JSON text per request, in order. Raises GenerationError when one cannot be completed."""
        ...
