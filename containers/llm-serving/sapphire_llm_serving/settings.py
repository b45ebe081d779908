"""The LLM server's own settings (SAPPHIRE_* variables); Vertex's AIP_* ones are read by
sapphire_common.serving_env."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class LlmSettings:
    #: "vllm", "transformers", or "auto": vLLM when it is installed.
    engine: str
    #: Overrides the manifest's base model (a Hugging Face id or a directory).
    base_model: str | None
    max_model_len: int | None
    gpu_memory_utilization: float
    #: Seeds sampling: the same request at the same temperature gets the same answer.
    seed: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> LlmSettings:
        env = os.environ if environ is None else environ
        engine = env.get("SAPPHIRE_LLM_ENGINE", "auto")
        if engine == "auto":
            engine = "vllm" if importlib.util.find_spec("vllm") is not None else "transformers"
        if engine not in ("vllm", "transformers"):
            raise ValueError(f"SAPPHIRE_LLM_ENGINE must be vllm, transformers or auto, got {engine!r}")
        max_model_len = env.get("SAPPHIRE_MAX_MODEL_LEN")
        return cls(
            engine=engine,
            base_model=env.get("SAPPHIRE_BASE_MODEL") or None,
            max_model_len=int(max_model_len) if max_model_len else None,
            gpu_memory_utilization=float(env.get("SAPPHIRE_GPU_MEMORY_UTILIZATION", "0.90")),
            seed=int(env.get("SAPPHIRE_SEED", "0")),
        )
