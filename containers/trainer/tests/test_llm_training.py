"""The LoRA fine-tuning end to end on a tiny random GPT-2, through the CLI."""

import json
import math

import jsonschema
import pytest
import torch

from sapphire_common.artifacts import LlmManifest, read_manifest
from sapphire_common.synthetic import decision_prompt, sft_records, write_jsonl
from sapphire_common.tiny_models import build_tiny_causal_lm
from sapphire_trainer.cli import run
from sapphire_trainer.vertex_env import TrainingEnv


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm-training")
    base = build_tiny_causal_lm(root / "base", seed=0)
    write_jsonl(root / "train.jsonl", sft_records(12, seed=1))
    write_jsonl(root / "validation.jsonl", sft_records(4, seed=2))
    env = TrainingEnv(
        model_dir=root / "model",
        checkpoint_dir=root / "checkpoints",
        tensorboard_log_dir=root / "logs",
        training_data_uri=str(root / "train.jsonl"),
        validation_data_uri=str(root / "validation.jsonl"),
    )
    # --train/--validation come from AIP_TRAINING_DATA_URI/AIP_VALIDATION_DATA_URI here.
    args = ["--agent", "qwen-7b", "--kind", "llm", "--base-model", str(base), "--epochs", "1", "--batch-size", "4"]
    args += ["--gradient-accumulation-steps", "1", "--lora-rank", "4", "--eval-generations", "2"]
    metrics = run(args, env=env)
    return root, metrics


def test_the_model_directory_holds_adapter_tokenizer_manifest_and_metrics(trained):
    root, metrics = trained
    model = root / "model"
    assert (model / "adapter" / "adapter_config.json").is_file()
    assert (model / "adapter" / "adapter_model.safetensors").is_file()
    assert (model / "tokenizer" / "tokenizer.json").is_file()
    written = json.loads((model / "metrics.json").read_text())
    assert written == metrics
    assert written["validation_metric"]["name"] == "eval_loss"
    assert written["validation_metric"]["higher_is_better"] is False
    assert math.isfinite(written["validation_metric"]["value"]) and written["validation_metric"]["value"] > 0
    assert (written["train_rows"], written["validation_rows"]) == (12, 4)
    assert 0 <= written["decision_accuracy"] <= 1 and written["generation_samples"] == 2
    manifest = read_manifest(model)
    assert isinstance(manifest, LlmManifest)
    assert manifest.agent_id == "qwen-7b"
    assert manifest.system_prompt == "You are a disciplined crypto futures trader."
    assert manifest.lora_rank == 4


def test_checkpoints_and_tensorboard_logs_go_where_vertex_said(trained):
    root, _ = trained
    assert any(p.name.startswith("checkpoint-") for p in (root / "checkpoints").iterdir())
    assert any(p.name.startswith("events.out.tfevents") for p in (root / "logs").rglob("*"))


def test_the_adapter_loads_back_onto_the_base_and_was_trained(trained):
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    root, _ = trained
    saved = load_file(str(root / "model" / "adapter" / "adapter_model.safetensors"))
    lora_b = [name for name in saved if "lora_B" in name]
    assert lora_b, "the adapter has LoRA weights"
    # peft starts every B at zero: a trained adapter has moved them.
    assert any(torch.count_nonzero(saved[name]) > 0 for name in lora_b)
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(root / "base")), str(root / "model" / "adapter")
    )
    loaded = get_peft_model_state_dict(model)
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[name], saved[name]) for name in saved)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([[5, 6, 7]]), attention_mask=torch.ones(1, 3, dtype=torch.long)).logits
    assert logits.shape[:2] == (1, 3)


def test_the_llm_server_serves_the_trained_adapter_with_schema_valid_answers(trained):
    from sapphire_llm_serving.model import LlmModel
    from sapphire_llm_serving.schema import decision_schema
    from sapphire_llm_serving.settings import LlmSettings

    root, _ = trained
    model = LlmModel.load(root / "model", LlmSettings.from_environ({"SAPPHIRE_LLM_ENGINE": "transformers"}))
    schema = decision_schema(["BTCUSDT", "ETHUSDT"], 10)
    prompt = decision_prompt(["BTCUSDT", "ETHUSDT"], [20_000 + i for i in range(30)], 10)
    [answer] = model.predict(
        [{"prompt": prompt, "max_tokens": 256, "temperature": 0, "raw_response": True, "response_schema": schema}]
    )
    jsonschema.validate(json.loads(answer), schema)


def test_a_baseline_adapter_is_measured_on_the_same_validation_records(trained, tmp_path):
    root, metrics = trained
    env = TrainingEnv(
        model_dir=tmp_path / "model",
        checkpoint_dir=tmp_path / "checkpoints",
        tensorboard_log_dir=None,
        training_data_uri=str(root / "train.jsonl"),
        validation_data_uri=str(root / "validation.jsonl"),
    )
    args = ["--agent", "qwen-7b", "--kind", "llm", "--base-model", str(root / "base"), "--epochs", "1", "--batch-size", "4"]
    args += ["--gradient-accumulation-steps", "1", "--lora-rank", "4", "--eval-generations", "1", "--baseline-model", str(root / "model")]
    second = run(args, env=env)
    baseline = second["baseline_validation_metric"]
    assert baseline["name"] == "eval_loss" and baseline["higher_is_better"] is False
    # The first run's adapter, evaluated again on the same records, gives the first run's figure.
    assert baseline["value"] == pytest.approx(metrics["validation_metric"]["value"], rel=1e-4)
