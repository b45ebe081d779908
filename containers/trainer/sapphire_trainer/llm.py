"""LoRA supervised fine-tuning of a causal LM on chat SFT records (transformers + peft).

Each record is ``{"messages": [system?, user, ..., assistant]}``; the last message, the assistant's
decision JSON, is the target. The loss counts only the answer's tokens (and the EOS after it): the
prompt is rendered with the tokenizer's chat template exactly as the server renders it
(sapphire_common.chat_format), so the adapter is trained on what it will be asked.

Metrics: ``eval_loss`` on the validation records (the validation metric, lower is better), and
``decision_accuracy``: on up to --eval-generations validation records, the share whose greedy,
unconstrained answer is a JSON object with the reference's action and symbol.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sapphire_common.artifacts import LlmManifest, validation_metric, write_manifest, write_metrics
from sapphire_common.chat_format import encode_answer, encode_prompt, ensure_chat_template

from .datasets import ChatRecord, DataError, read_chat_records
from .vertex_env import local_path

log = logging.getLogger(__name__)

IGNORE_INDEX = -100


@dataclass(frozen=True)
class LlmConfig:
    agent_id: str
    train_uri: str
    validation_uri: str
    base_model: str
    model_dir: Path
    checkpoint_dir: Path
    tensorboard_dir: Path | None = None
    epochs: float = 3.0
    learning_rate: float = 2e-4
    batch_size: int = 4
    gradient_accumulation_steps: int = 4
    max_seq_length: int = 2048
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str = "all-linear"
    eval_generations: int = 32
    gradient_checkpointing: bool = False
    bundle_base: bool = False
    seed: int = 0
    #: The serving model's directory: its eval_loss on this validation set becomes baseline_validation_metric.
    baseline_model: Path | None = None


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def resolve_model_location(name: str) -> str:
    """A hub id stays as it is; gs:// becomes its /gcs FUSE path; a local path stays local."""
    if name.startswith("gs://") or name.startswith("/") or name.startswith("."):
        return str(local_path(name))
    return name


def tokenize(records: Sequence[ChatRecord], tokenizer: Any, max_seq_length: int) -> tuple[list[Example], int]:
    """Examples whose loss counts only the answer; records longer than max_seq_length are skipped
    (cutting the prompt would train on prompts the server never sends)."""
    examples, skipped = [], 0
    for record in records:
        prompt = encode_prompt(tokenizer, record.prompt_messages)
        answer = encode_answer(tokenizer, record.answer)
        if len(prompt) + len(answer) > max_seq_length:
            skipped += 1
            continue
        examples.append(Example(prompt + answer, [IGNORE_INDEX] * len(prompt) + answer))
    return examples, skipped


class Collator:
    """Right-pads a batch; padded positions are masked out of attention and loss."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(item["input_ids"]) for item in batch)
        input_ids, labels, attention = [], [], []
        for item in batch:
            pad = width - len(item["input_ids"])
            input_ids.append(item["input_ids"] + [self.pad_token_id] * pad)
            labels.append(item["labels"] + [IGNORE_INDEX] * pad)
            attention.append([1] * len(item["input_ids"]) + [0] * pad)
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "attention_mask": torch.tensor(attention, dtype=torch.long),
        }


def shared_system_prompt(records: Sequence[ChatRecord]) -> str | None:
    """The system message of the training data, when every record starts with the same one."""
    prompts = Counter(record.system_prompt for record in records)
    if len(prompts) == 1:
        return next(iter(prompts))
    log.warning("training records carry %d different system prompts (or none): the server will send none", len(prompts))
    return None


def decision_matches(generated: str, reference: str) -> tuple[bool, bool]:
    """(the generated text is a JSON object, it decides the reference's action and symbol)."""
    try:
        produced = json.loads(generated.strip())
    except json.JSONDecodeError:
        return False, False
    if not isinstance(produced, dict):
        return False, False
    try:
        expected = json.loads(reference)
    except json.JSONDecodeError:
        return True, generated.strip() == reference.strip()
    if not isinstance(expected, dict):
        return True, produced == expected
    return True, all(produced.get(key) == expected.get(key) for key in ("action", "symbol"))


def generation_metrics(model: Any, tokenizer: Any, records: Sequence[ChatRecord], limit: int) -> dict[str, float]:
    import torch

    sample = list(records[:limit])
    if not sample:
        return {}
    valid = correct = 0
    model.eval()
    for record in sample:
        prompt = encode_prompt(tokenizer, record.prompt_messages)
        budget = len(tokenizer(record.answer, add_special_tokens=False)["input_ids"]) + 32
        with torch.no_grad():
            output = model.generate(
                input_ids=torch.tensor([prompt], device=model.device),
                attention_mask=torch.ones(1, len(prompt), dtype=torch.long, device=model.device),
                max_new_tokens=budget,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        text = tokenizer.decode(output[0, len(prompt) :], skip_special_tokens=True)
        is_json, matches = decision_matches(text, record.answer)
        valid += is_json
        correct += matches
    return {
        "json_valid_rate": valid / len(sample),
        "decision_accuracy": correct / len(sample),
        "generation_samples": len(sample),
    }


def train_llm(config: LlmConfig) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    set_seed(config.seed)
    train_records = read_chat_records(config.train_uri)
    validation_records = read_chat_records(config.validation_uri)
    base = resolve_model_location(config.base_model)

    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    ensure_chat_template(tokenizer)
    train_examples, train_skipped = tokenize(train_records, tokenizer, config.max_seq_length)
    validation_examples, validation_skipped = tokenize(validation_records, tokenizer, config.max_seq_length)
    if not train_examples or not validation_examples:
        raise DataError(f"no record fits in --max-seq-length {config.max_seq_length} tokens")

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16 if bf16 else torch.float32)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules
        if config.target_modules == "all-linear"
        else config.target_modules.split(","),
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, lora)
    trainable, total = peft_model.get_nb_trainable_parameters()
    log.info("LoRA r=%d: %d of %d parameters trainable", config.lora_rank, trainable, total)

    config.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    arguments = TrainingArguments(
        output_dir=str(config.checkpoint_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type="cosine",
        warmup_ratio=0.03,
        logging_steps=10,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        report_to=["tensorboard"] if config.tensorboard_dir else [],
        logging_dir=str(config.tensorboard_dir) if config.tensorboard_dir else None,
        bf16=bf16,
        use_cpu=not cuda,
        seed=config.seed,
        data_seed=config.seed,
        remove_unused_columns=False,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=peft_model,
        args=arguments,
        train_dataset=[{"input_ids": e.input_ids, "labels": e.labels} for e in train_examples],
        eval_dataset=[{"input_ids": e.input_ids, "labels": e.labels} for e in validation_examples],
        data_collator=Collator(tokenizer.pad_token_id),
    )
    resume = get_last_checkpoint(str(config.checkpoint_dir))
    if resume:
        log.info("resuming from %s", resume)
    train_result = trainer.train(resume_from_checkpoint=resume)
    evaluation = trainer.evaluate()
    generated = generation_metrics(trainer.model, tokenizer, validation_records, config.eval_generations)

    config.model_dir.mkdir(parents=True, exist_ok=True)
    trainer.model.save_pretrained(str(config.model_dir / "adapter"))
    tokenizer.save_pretrained(str(config.model_dir / "tokenizer"))
    base_dir = None
    if config.bundle_base:
        base_dir = "base"
        _bundle_base(base, config.model_dir / base_dir)
    write_manifest(
        config.model_dir,
        LlmManifest(
            agent_id=config.agent_id,
            base_model=config.base_model if not config.bundle_base else "base",
            base_dir=base_dir,
            system_prompt=shared_system_prompt(train_records),
            max_seq_length=config.max_seq_length,
            lora_rank=config.lora_rank,
        ),
    )
    eval_loss = float(evaluation["eval_loss"])
    metrics = {
        "agent_id": config.agent_id,
        "kind": "llm",
        "base_model": config.base_model,
        "validation_metric": validation_metric("eval_loss", eval_loss, higher_is_better=False),
        "train_rows": len(train_examples),
        "validation_rows": len(validation_examples),
        "skipped_too_long": {"train": train_skipped, "validation": validation_skipped},
        "train_loss": float(train_result.training_loss),
        "eval_loss": eval_loss,
        "epochs": config.epochs,
        "lora_rank": config.lora_rank,
        **generated,
    }
    if config.baseline_model is not None:
        baseline_loss = _baseline_eval_loss(config, base, arguments, validation_examples, tokenizer.pad_token_id)
        if baseline_loss is not None:
            metrics["baseline_validation_metric"] = validation_metric("eval_loss", baseline_loss, higher_is_better=False)
    write_metrics(config.model_dir, metrics)
    return metrics


def _baseline_eval_loss(config: LlmConfig, base: str, arguments: Any, examples: Sequence[Example], pad_token_id: int) -> float | None:
    """The serving adapter's eval_loss on the same validation records, when it shares this base model."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, Trainer

    from sapphire_common.artifacts import read_manifest

    assert config.baseline_model is not None
    serving = read_manifest(config.baseline_model)
    if not isinstance(serving, LlmManifest) or serving.base_model != config.base_model:
        log.warning("baseline %s is not a LoRA adapter of %s: no baseline figure", config.baseline_model, config.base_model)
        return None
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16 if bf16 else torch.float32)
    baseline = PeftModel.from_pretrained(model, str(config.baseline_model / "adapter"))
    evaluation = Trainer(
        model=baseline,
        args=arguments,
        eval_dataset=[{"input_ids": e.input_ids, "labels": e.labels} for e in examples],
        data_collator=Collator(pad_token_id),
    ).evaluate()
    return float(evaluation["eval_loss"])


def _bundle_base(base: str, target: Path) -> None:
    """Copies a local base model into the model directory, or downloads a hub one there."""
    source = Path(base)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
        return
    from huggingface_hub import snapshot_download

    snapshot_download(repo_id=base, local_dir=str(target))
