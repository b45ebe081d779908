"""The CPU engine: a transformers causal LM (base + merged LoRA adapter) with the constrained
decoder of ``constrained.py``. For tests and local runs with small models."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from sapphire_common.artifacts import LlmManifest
from sapphire_common.chat_format import encode_prompt, serving_messages

from ..constrained import ConstrainedDecoder
from ..instances import GenerationRequest
from ..settings import LlmSettings


class TransformersEngine:
    name = "transformers"

    def __init__(self, model_dir: Path, manifest: LlmManifest, base_model: str, settings: LlmSettings) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.manifest = manifest
        self.seed = settings.seed
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir / manifest.tokenizer_dir))
        model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32)
        adapter = model_dir / manifest.adapter_dir
        if adapter.is_dir():
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
        model.eval()
        self.decoder = ConstrainedDecoder(model, self.tokenizer)
        # One generation at a time: the model is not shared between threads.
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        answers = []
        with self._lock:
            for request in requests:
                prompt_ids = encode_prompt(
                    self.tokenizer, serving_messages(request.prompt, self.manifest.system_prompt)
                )
                answers.append(
                    self.decoder.generate(
                        prompt_ids,
                        request.schema,
                        max_tokens=request.max_tokens,
                        temperature=request.temperature,
                        seed=self.seed,
                    )
                )
        return answers
