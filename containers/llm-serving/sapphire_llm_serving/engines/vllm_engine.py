"""The GPU engine: vLLM serving the base model with the agent's LoRA adapter, and guided JSON
decoding (structured outputs) against each request's schema.

vLLM is imported here only: the test environment has no vLLM and no GPU. Pinned to the vLLM of
the Dockerfile, whose structured outputs API is ``SamplingParams(structured_outputs=
StructuredOutputsParams(json=schema))``; vLLM before 0.12 called it ``guided_decoding=
GuidedDecodingParams(json=schema)``, accepted here too.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sapphire_common.artifacts import LlmManifest
from sapphire_common.chat_format import encode_prompt, serving_messages

from ..constrained import GenerationError
from ..instances import GenerationRequest
from ..settings import LlmSettings

#: LoRA ranks vLLM accepts for max_lora_rank.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def max_lora_rank(rank: int) -> int:
    for allowed in VLLM_LORA_RANKS:
        if rank <= allowed:
            return allowed
    raise ValueError(f"LoRA rank {rank} is above vLLM's largest ({VLLM_LORA_RANKS[-1]})")


def structured_output_params(schema: dict[str, Any]) -> dict[str, Any]:
    """SamplingParams keyword arguments constraining the output to ``schema``."""
    try:
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:  # vLLM < 0.12
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(json=schema, disable_any_whitespace=True)}
    # Compact JSON: "any whitespace" lets some models loop on newlines until max_tokens.
    return {"structured_outputs": StructuredOutputsParams(json=schema, disable_any_whitespace=True)}


class VllmEngine:
    name = "vllm"

    def __init__(self, model_dir: Path, manifest: LlmManifest, base_model: str, settings: LlmSettings) -> None:
        from transformers import AutoTokenizer
        from vllm import LLM
        from vllm.lora.request import LoRARequest

        self.manifest = manifest
        self.seed = settings.seed
        tokenizer_dir = str(model_dir / manifest.tokenizer_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        adapter = model_dir / manifest.adapter_dir
        options: dict[str, Any] = {
            "model": base_model,
            "tokenizer": tokenizer_dir,
            "seed": settings.seed,
            "gpu_memory_utilization": settings.gpu_memory_utilization,
        }
        if settings.max_model_len:
            options["max_model_len"] = settings.max_model_len
        self.lora = None
        if adapter.is_dir():
            options.update(enable_lora=True, max_loras=1, max_lora_rank=max_lora_rank(manifest.lora_rank))
            self.lora = LoRARequest(manifest.agent_id, 1, str(adapter))
        self.llm = LLM(**options)
        # LLM.generate is not meant for concurrent callers; requests of one call are batched.
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        from vllm import SamplingParams

        prompts = [
            {"prompt_token_ids": encode_prompt(self.tokenizer, serving_messages(r.prompt, self.manifest.system_prompt))}
            for r in requests
        ]
        params = [
            SamplingParams(
                max_tokens=r.max_tokens,
                temperature=r.temperature,
                seed=self.seed,
                **structured_output_params(dict(r.schema.source)),
            )
            for r in requests
        ]
        with self._lock:
            outputs = self.llm.generate(prompts, params, lora_request=self.lora, use_tqdm=False)
        answers = []
        for request, output in zip(requests, outputs, strict=True):
            completion = output.outputs[0]
            if completion.finish_reason == "length":
                raise GenerationError(f"max_tokens={request.max_tokens} is too small to complete the response schema")
            answers.append(completion.text)
        return answers
