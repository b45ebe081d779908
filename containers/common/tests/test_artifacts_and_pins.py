import json
import re
from pathlib import Path

import pytest

from sapphire_common.artifacts import (
    ArtifactError,
    ForecasterManifest,
    LlmManifest,
    read_manifest,
    validation_metric,
    write_manifest,
    write_metrics,
)

CONTAINERS = Path(__file__).resolve().parents[2]


def test_a_manifest_reads_back_as_written(tmp_path):
    llm = LlmManifest(
        agent_id="qwen-7b", base_model="Qwen/Qwen2.5-7B-Instruct", system_prompt="be careful", lora_rank=8
    )
    write_manifest(tmp_path / "llm", llm)
    assert read_manifest(tmp_path / "llm") == llm
    forecaster = ForecasterManifest(
        agent_id="lagllama-degen",
        backend="lag-llama",
        freq="1min",
        prediction_length=15,
        context_length=32,
        num_samples=100,
    )
    write_manifest(tmp_path / "f", forecaster)
    assert read_manifest(tmp_path / "f") == forecaster


def test_a_directory_without_a_valid_manifest_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match="missing"):
        read_manifest(tmp_path)
    (tmp_path / "sapphire_model.json").write_text(json.dumps({"format_version": 1, "kind": "image"}))
    with pytest.raises(ArtifactError, match="unknown kind"):
        read_manifest(tmp_path)
    (tmp_path / "sapphire_model.json").write_text(json.dumps({"format_version": 2, "kind": "llm"}))
    with pytest.raises(ArtifactError, match="format_version"):
        read_manifest(tmp_path)


def test_metrics_refuse_numbers_json_cannot_carry(tmp_path):
    with pytest.raises(ValueError, match=r"validation_metric\.value"):
        write_metrics(
            tmp_path, {"validation_metric": validation_metric("eval_loss", float("nan"), higher_is_better=False)}
        )
    write_metrics(tmp_path, {"validation_metric": validation_metric("eval_loss", 1.5, higher_is_better=False)})
    assert json.loads((tmp_path / "metrics.json").read_text())["validation_metric"] == {
        "name": "eval_loss",
        "value": 1.5,
        "higher_is_better": False,
    }


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[a-z,]+\])?==([\w.]+)", line)
        assert match, f"{path}: {line!r} is not pinned with =="
        found[match.group(1).lower()] = match.group(3)
    return found


def test_every_requirement_is_pinned_and_the_forecasting_pins_agree():
    trainer = pins(CONTAINERS / "trainer" / "requirements.txt")
    serving = pins(CONTAINERS / "lagllama-serving" / "requirements.txt")
    pins(CONTAINERS / "llm-serving" / "requirements.txt")
    test_env = pins(CONTAINERS / "requirements-test.txt")
    # The server deserializes what the trainer pickled: the same libraries, at the same versions.
    for package in ("torch", "numpy", "pandas", "scipy", "gluonts", "lightning", "pytorch-lightning", "pydantic"):
        assert trainer[package] == serving[package], package
    assert "vllm" not in test_env


def test_both_forecasting_images_pin_the_same_lag_llama_commit():
    commits = {
        image: re.findall(r"LAG_LLAMA_COMMIT=([0-9a-f]{40})", (CONTAINERS / image / "Dockerfile").read_text())
        for image in ("trainer", "lagllama-serving")
    }
    assert len(commits["trainer"]) == 1 and commits["trainer"] == commits["lagllama-serving"]
