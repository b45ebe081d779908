"""python -m sapphire_llm_serving.make_test_model DIR — a tiny LLM agent for tests, in seconds on CPU.

A random GPT-2 (2 layers, 64 dimensions) with a tokenizer built locally, bundled as base/, and a
random LoRA adapter on it, in the trainer's layout (sapphire_model.json, adapter/, tokenizer/,
base/, metrics.json), ready for AIP_STORAGE_URI=DIR with SAPPHIRE_LLM_ENGINE=transformers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sapphire_common.artifacts import LlmManifest, validation_metric, write_manifest, write_metrics
from sapphire_common.tiny_models import build_tiny_causal_lm, make_test_model_cli

LORA_RANK = 4


def make_test_model(model_dir: Path, *, seed: int = 0) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir = build_tiny_causal_lm(model_dir / "base", seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    tokenizer.save_pretrained(str(model_dir / "tokenizer"))
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base_dir))
    # Random A and B (not peft's zero B): the adapter changes the answers, as a trained one does.
    lora = LoraConfig(
        r=LORA_RANK, lora_alpha=8, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"
    )
    get_peft_model(model, lora).save_pretrained(str(model_dir / "adapter"))
    write_manifest(
        model_dir,
        LlmManifest(
            agent_id="llm-test",
            base_model="base",
            base_dir="base",
            system_prompt="You are a disciplined crypto futures trader.",
            max_seq_length=4096,
            lora_rank=LORA_RANK,
        ),
    )
    write_metrics(
        model_dir,
        {
            "agent_id": "llm-test",
            "kind": "llm",
            "validation_metric": validation_metric("eval_loss", 0.0, higher_is_better=False),
            "train_rows": 0,
            "validation_rows": 0,
            "note": "test model: random weights, not trained",
        },
    )
    return model_dir


def main(argv: list[str] | None = None) -> int:
    return make_test_model_cli("python -m sapphire_llm_serving.make_test_model", __doc__, make_test_model, argv)


if __name__ == "__main__":
    sys.exit(main())
