"""The model directory: what the trainer writes to AIP_MODEL_DIR and a server reads from AIP_STORAGE_URI.

Every model directory holds ``sapphire_model.json`` (the manifest, below) and ``metrics.json``.

An LLM agent::

    sapphire_model.json   {"kind": "llm", "base_model": ..., "adapter_dir": "adapter", ...}
    adapter/              the PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors)
    tokenizer/            the tokenizer, with the chat template the adapter was trained on
    base/                 optional: the base model itself (tests, or --bundle-base)
    metrics.json

A forecaster agent::

    sapphire_model.json   {"kind": "forecaster", "backend": "lag-llama" | "feedforward", ...}
    predictor/            a GluonTS predictor (Predictor.serialize), forecasting log-returns
    metrics.json
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

MANIFEST_FILE = "sapphire_model.json"
METRICS_FILE = "metrics.json"
FORMAT_VERSION = 1


class ArtifactError(Exception):
    """A model directory that does not hold what the manifest promises."""


@dataclass(frozen=True)
class LlmManifest:
    agent_id: str
    #: What the adapter was trained on: a Hugging Face model id, or ``base`` when bundled.
    base_model: str
    adapter_dir: str = "adapter"
    tokenizer_dir: str = "tokenizer"
    #: Set when the base model is bundled in the directory.
    base_dir: str | None = None
    #: The system message every training conversation started with, if they shared one.
    system_prompt: str | None = None
    max_seq_length: int = 2048
    lora_rank: int = 16
    kind: Literal["llm"] = "llm"
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True)
class ForecasterManifest:
    agent_id: str
    #: Which estimator trained the predictor: "lag-llama", or the "feedforward" stand-in.
    backend: str
    freq: str
    prediction_length: int
    context_length: int
    num_samples: int
    predictor_dir: str = "predictor"
    #: The predictor forecasts log(p_t / p_{t-1}); prices are rebuilt from the last price.
    target_transform: Literal["log_return"] = "log_return"
    kind: Literal["forecaster"] = "forecaster"
    format_version: int = FORMAT_VERSION


Manifest = LlmManifest | ForecasterManifest


def write_manifest(model_dir: Path, manifest: Manifest) -> Path:
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / MANIFEST_FILE
    path.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(model_dir: Path) -> Manifest:
    path = model_dir / MANIFEST_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ArtifactError(f"{path} is missing: {model_dir} is not a Sapphire model directory") from error
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{path} is not JSON: {error}") from error
    if not isinstance(raw, dict):
        raise ArtifactError(f"{path} must hold a JSON object")
    if raw.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{path}: format_version {raw.get('format_version')!r} is not {FORMAT_VERSION}")
    kind = raw.get("kind")
    cls: type[LlmManifest] | type[ForecasterManifest]
    if kind == "llm":
        cls = LlmManifest
    elif kind == "forecaster":
        cls = ForecasterManifest
    else:
        raise ArtifactError(f"{path}: unknown kind {kind!r}")
    known = set(cls.__dataclass_fields__)
    try:
        return cls(**{key: value for key, value in raw.items() if key in known})
    except TypeError as error:
        raise ArtifactError(f"{path}: {error}") from error


def write_metrics(model_dir: Path, metrics: Mapping[str, Any]) -> Path:
    """Writes metrics.json; refuses NaN or infinite numbers, which JSON cannot carry."""
    _check_finite(metrics, "metrics")
    path = model_dir / METRICS_FILE
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return path


def validation_metric(name: str, value: float, *, higher_is_better: bool) -> dict[str, Any]:
    return {"name": name, "value": float(value), "higher_is_better": higher_is_better}


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} is {value}, not a finite number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_finite(item, f"{where}[{index}]")
