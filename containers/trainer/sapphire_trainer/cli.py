"""python -m sapphire_trainer --agent ID --kind llm|forecaster --train URI --validation URI [options]

Writes the model and metrics.json to AIP_MODEL_DIR (or --model-dir), checkpoints to
AIP_CHECKPOINT_DIR, TensorBoard logs to AIP_TENSORBOARD_LOG_DIR. gs:// locations are read and
written through the CustomJob's Cloud Storage FUSE mount (/gcs/...).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .datasets import TARGETS, DataError, read_dataset_manifest, verify_checksums
from .vertex_env import TrainingEnv, VertexEnvError, local_path

AGENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sapphire_trainer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--agent", required=True, help="the agent id, e.g. qwen-7b or lagllama-degen")
    p.add_argument("--kind", required=True, choices=["llm", "forecaster"])
    p.add_argument(
        "--train", help="training JSONL (file, directory or glob; gs:// or local); default AIP_TRAINING_DATA_URI"
    )
    p.add_argument("--validation", help="validation JSONL; default AIP_VALIDATION_DATA_URI")
    p.add_argument(
        "--base-model",
        help="llm: Hugging Face id or model directory (required); forecaster: Lag-Llama checkpoint to fine-tune",
    )
    p.add_argument(
        "--baseline-model",
        help="the serving model's directory (gs:// or local): measured on the same validation set and "
        "written as baseline_validation_metric, for Sapphire's promotion gate",
    )
    p.add_argument("--model-dir", help="overrides AIP_MODEL_DIR")
    p.add_argument("--epochs", type=float, help="passes over the training data (llm default 3, forecaster default 20)")
    p.add_argument("--learning-rate", type=float, help="llm default 2e-4, forecaster default 5e-4")
    p.add_argument("--batch-size", type=int, help="llm default 4, forecaster default 64")
    p.add_argument("--seed", type=int, default=0)

    llm = p.add_argument_group("llm")
    llm.add_argument("--gradient-accumulation-steps", type=int, default=4)
    llm.add_argument("--max-seq-length", type=int, default=2048)
    llm.add_argument("--lora-rank", type=int, default=16)
    llm.add_argument("--lora-alpha", type=int, default=32)
    llm.add_argument("--lora-dropout", type=float, default=0.05)
    llm.add_argument(
        "--target-modules", default="all-linear", help='"all-linear" or a comma-separated list of module names'
    )
    llm.add_argument(
        "--eval-generations",
        type=int,
        default=32,
        help="validation records answered by generation for decision_accuracy",
    )
    llm.add_argument("--gradient-checkpointing", action="store_true")
    llm.add_argument("--bundle-base", action="store_true", help="copy the base model into the model directory (base/)")

    forecaster = p.add_argument_group("forecaster")
    forecaster.add_argument(
        "--forecaster",
        default="auto",
        choices=["auto", "lag-llama", "feedforward"],
        help="auto: Lag-Llama when importable",
    )
    forecaster.add_argument(
        "--target",
        default="auto",
        choices=["auto", *TARGETS],
        help="what the series' targets hold; auto: the manifest.json beside the data, else price",
    )
    forecaster.add_argument("--freq", help="default: the data manifest's, else 1min")
    forecaster.add_argument("--prediction-length", type=int, help="default: the data manifest's horizon, else 15")
    forecaster.add_argument("--context-length", type=int, help="returns the model sees (Lag-Llama default 32)")
    forecaster.add_argument("--num-batches-per-epoch", type=int, default=50)
    forecaster.add_argument("--num-samples", type=int, default=100, help="sample paths per forecast")
    forecaster.add_argument("--eval-windows", type=int, default=4, help="forecast windows per validation series")
    return p


def run(argv: Sequence[str] | None = None, env: TrainingEnv | None = None) -> dict:
    args = parser().parse_args(argv)
    env = env or TrainingEnv.from_environ()
    if not AGENT_ID.match(args.agent):
        raise SystemExit(f"--agent {args.agent!r}: use lowercase letters, digits and dashes")
    train_uri = args.train or env.training_data_uri
    validation_uri = args.validation or env.validation_data_uri
    if not train_uri or not validation_uri:
        raise SystemExit("--train and --validation are required (or AIP_TRAINING_DATA_URI / AIP_VALIDATION_DATA_URI)")
    model_dir = local_path(args.model_dir) if args.model_dir else env.model_dir
    if model_dir is None:
        raise SystemExit("set AIP_MODEL_DIR or pass --model-dir")
    checkpoint_dir = env.checkpoint_dir or Path(tempfile.mkdtemp(prefix="sapphire-checkpoints-"))
    for uri in (train_uri, validation_uri):
        manifest = read_dataset_manifest(uri)
        if manifest is not None:
            verify_checksums(uri, manifest)

    if args.kind == "llm":
        from .llm import LlmConfig, train_llm

        if not args.base_model:
            raise SystemExit("--kind llm needs --base-model (a Hugging Face id or a model directory)")
        return train_llm(
            LlmConfig(
                agent_id=args.agent,
                train_uri=train_uri,
                validation_uri=validation_uri,
                base_model=args.base_model,
                model_dir=model_dir,
                checkpoint_dir=checkpoint_dir,
                tensorboard_dir=env.tensorboard_log_dir,
                epochs=args.epochs if args.epochs is not None else 3.0,
                learning_rate=args.learning_rate if args.learning_rate is not None else 2e-4,
                batch_size=args.batch_size or 4,
                gradient_accumulation_steps=args.gradient_accumulation_steps,
                max_seq_length=args.max_seq_length,
                lora_rank=args.lora_rank,
                lora_alpha=args.lora_alpha,
                lora_dropout=args.lora_dropout,
                target_modules=args.target_modules,
                eval_generations=args.eval_generations,
                gradient_checkpointing=args.gradient_checkpointing,
                bundle_base=args.bundle_base,
                seed=args.seed,
                baseline_model=local_path(args.baseline_model) if args.baseline_model else None,
            )
        )

    from .forecaster import ForecasterConfig, train_forecaster

    return train_forecaster(
        ForecasterConfig(
            agent_id=args.agent,
            train_uri=train_uri,
            validation_uri=validation_uri,
            model_dir=model_dir,
            checkpoint_dir=checkpoint_dir,
            tensorboard_dir=env.tensorboard_log_dir,
            backend=args.forecaster,
            base_model=args.base_model,
            target=args.target,
            freq=args.freq,
            prediction_length=args.prediction_length,
            context_length=args.context_length,
            epochs=int(args.epochs) if args.epochs is not None else 20,
            batch_size=args.batch_size or 64,
            num_batches_per_epoch=args.num_batches_per_epoch,
            learning_rate=args.learning_rate if args.learning_rate is not None else 5e-4,
            num_samples=args.num_samples,
            eval_windows=args.eval_windows,
            seed=args.seed,
            baseline_model=local_path(args.baseline_model) if args.baseline_model else None,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        metrics = run(argv)
    except (DataError, VertexEnvError) as problem:
        print(f"sapphire_trainer: {problem}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "validation_metric": metrics["validation_metric"],
                "train_rows": metrics["train_rows"],
                "validation_rows": metrics["validation_rows"],
            }
        )
    )
    return 0
