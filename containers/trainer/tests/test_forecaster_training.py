"""The forecaster fine-tuning end to end, through the CLI, on data in the export's format
(log-returns and manifest.json, as shared/domain/training-dataset.ts writes them), with the
feedforward stand-in for Lag-Llama (test_lag_llama.py runs Lag-Llama itself where it is
importable)."""

import json
import math

import numpy as np
import pytest

from sapphire_common.artifacts import ForecasterManifest, read_manifest
from sapphire_common.synthetic import random_walk_prices, series_records, write_forecast_export, write_jsonl
from sapphire_trainer.cli import main, run
from sapphire_trainer.datasets import DataError
from sapphire_trainer.forecaster import LagLlamaBackend, choose_backend
from sapphire_trainer.vertex_env import TrainingEnv


def forecaster_args(folder, *extra):
    return [
        "--agent", "lagllama-degen", "--kind", "forecaster",
        f"--train={folder / 'train.jsonl'}", f"--validation={folder / 'validation.jsonl'}",
        "--forecaster=feedforward", "--epochs", "2", "--num-batches-per-epoch", "10", "--batch-size", "32", *extra,
    ]  # fmt: skip


def vertex_env(root):
    return TrainingEnv(root / "model", root / "checkpoints", root / "logs", None, None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("forecaster-training")
    write_forecast_export(root / "data", random_walk_prices(6, 300, seed=1), random_walk_prices(3, 121, seed=2))
    return root, run(forecaster_args(root / "data"), env=vertex_env(root))


def test_metrics_report_the_weighted_quantile_loss_and_the_data_sizes(trained):
    root, metrics = trained
    written = json.loads((root / "model" / "metrics.json").read_text())
    assert written == metrics
    assert written["validation_metric"]["name"] == "mean_weighted_quantile_loss"
    assert written["validation_metric"]["higher_is_better"] is False
    assert math.isfinite(written["validation_metric"]["value"]) and written["validation_metric"]["value"] > 0
    assert (written["train_rows"], written["validation_rows"]) == (6, 3)
    assert (written["train_values"], written["validation_values"]) == (6 * 299, 3 * 120)
    assert written["target"] == "log_return", "read from the export's manifest.json"
    # 121 prices (120 returns): windows end at 106, 91, 76 and 61, each after at least 32 prices.
    assert written["validation_windows"] == 12
    assert written["baseline_no_change_mean_weighted_quantile_loss"] > 0
    assert "baseline_validation_metric" not in written, "that key is the serving model's figure, for the gate"


def test_the_manifest_describes_the_stand_in(trained):
    root, metrics = trained
    assert metrics["backend"] == "feedforward"
    manifest = read_manifest(root / "model")
    assert isinstance(manifest, ForecasterManifest)
    summary = (manifest.backend, manifest.freq, manifest.prediction_length, manifest.context_length)
    assert summary == ("feedforward", "1min", 15, 31)
    assert (root / "model" / "predictor" / "prediction-net-state.pt").is_file()


def test_auto_chooses_lag_llama_when_importable_and_the_stand_in_otherwise():
    available = LagLlamaBackend.available()
    assert choose_backend("auto").name == ("lag-llama" if available else "feedforward")
    if not available:
        with pytest.raises(RuntimeError, match="not importable"):
            choose_backend("lag-llama")


def test_checkpoints_and_tensorboard_logs_go_where_vertex_said(trained):
    root, _ = trained
    assert list((root / "checkpoints" / "checkpoints").glob("*.ckpt"))
    assert list((root / "logs").glob("events.out.tfevents*"))


def test_the_lagllama_server_loads_the_trained_predictor(trained):
    from sapphire_lagllama_serving.model import ForecastModel

    root, _ = trained
    model = ForecastModel.load(root / "model")
    series = random_walk_prices(1, 256, seed=9)[0].tolist()
    [forecast] = model.predict([{"series": series, "prediction_length": 15, "freq": "1min"}])
    p10, p50, p90 = (np.array(forecast[k]) for k in ("p10", "p50", "p90"))
    assert len(p10) == len(p50) == len(p90) == 15
    assert np.all(p10 > 0) and np.all(p10 <= p50) and np.all(p50 <= p90)


def test_price_series_train_too(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", series_records(random_walk_prices(3, 200, seed=3)))
    write_jsonl(tmp_path / "validation.jsonl", series_records(random_walk_prices(2, 80, seed=4)))
    metrics = run(forecaster_args(tmp_path, "--epochs", "1", "--prediction-length", "10"), env=vertex_env(tmp_path))
    assert (metrics["target"], metrics["prediction_length"], metrics["validation_windows"]) == ("price", 10, 8)


def test_validation_series_too_short_to_evaluate_are_refused(tmp_path):
    write_forecast_export(tmp_path, random_walk_prices(2, 100, seed=1), random_walk_prices(2, 40, seed=2))
    with pytest.raises(DataError, match="at least 47 prices"):
        run(forecaster_args(tmp_path), env=vertex_env(tmp_path))


def test_data_changed_after_the_export_fails_the_job_with_exit_code_2(tmp_path, capsys):
    write_forecast_export(tmp_path, random_walk_prices(2, 100, seed=1), random_walk_prices(2, 100, seed=2))
    with (tmp_path / "validation.jsonl").open("a") as handle:
        handle.write('{"start": "2023-03-10T00:00:00", "target": [0.5], "item_id": "X"}\n')
    assert main(forecaster_args(tmp_path, f"--model-dir={tmp_path / 'model'}")) == 2
    assert "sha256 differs" in capsys.readouterr().err


def test_a_baseline_model_is_measured_on_the_same_validation_windows(trained, tmp_path):
    root, metrics = trained
    second = run(forecaster_args(root / "data", f"--baseline-model={root / 'model'}"), env=vertex_env(tmp_path))
    baseline = second["baseline_validation_metric"]
    assert baseline["name"] == "mean_weighted_quantile_loss" and baseline["higher_is_better"] is False
    # The serving model measured by the second run is the first run's model on the same windows.
    assert baseline["value"] == pytest.approx(metrics["validation_metric"]["value"], rel=1e-6)
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["baseline_validation_metric"] == baseline
