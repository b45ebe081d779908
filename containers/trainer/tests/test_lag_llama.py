"""Lag-Llama itself, when its code is importable: not in the test environment (it is not on
PyPI); run with a checkout of the commit the Dockerfiles pin on PYTHONPATH:

    PYTHONPATH=/path/to/lag-llama npm run test:containers -- -k lag_llama
"""

import glob
import json

import numpy as np
import pytest

pytest.importorskip("lag_llama", reason="Lag-Llama's code is not on PYTHONPATH")

from sapphire_common.synthetic import random_walk_prices, write_forecast_export
from sapphire_trainer.cli import run
from sapphire_trainer.datasets import read_series
from sapphire_trainer.forecaster import returns_dataset
from sapphire_trainer.vertex_env import TrainingEnv


@pytest.fixture(scope="module")
def pretrained_checkpoint(tmp_path_factory):
    """A checkpoint shaped like the published lag-llama.ckpt (time features, robust scaling, a
    context of 32), from a few random steps: what the trainer fine-tunes from."""
    from lag_llama.gluon.estimator import LagLlamaEstimator

    root = tmp_path_factory.mktemp("lag-llama-pretrained")
    write_forecast_export(root, random_walk_prices(3, 200, seed=7), random_walk_prices(1, 60, seed=8))
    estimator = LagLlamaEstimator(
        prediction_length=1,
        context_length=32,
        n_layer=1,
        n_head=2,
        n_embd_per_head=8,
        time_feat=True,
        scaling="robust",
        batch_size=8,
        num_batches_per_epoch=2,
        trainer_kwargs={"max_epochs": 1, "accelerator": "cpu", "default_root_dir": str(root), "logger": False},
    )
    estimator.train(returns_dataset(read_series(str(root / "train.jsonl"), "log_return", "1min"), "1min"))
    [checkpoint] = glob.glob(str(root / "checkpoints" / "*.ckpt"))
    return checkpoint


def test_lag_llama_fine_tunes_from_its_checkpoint_and_serves(pretrained_checkpoint, tmp_path):
    from sapphire_lagllama_serving.model import ForecastModel

    write_forecast_export(tmp_path / "data", random_walk_prices(4, 300, seed=1), random_walk_prices(2, 121, seed=2))
    args = [
        "--agent=lagllama-degen",
        "--kind=forecaster",
        "--forecaster=lag-llama",
        f"--base-model={pretrained_checkpoint}",
    ]
    args += [f"--train={tmp_path / 'data' / 'train.jsonl'}", f"--validation={tmp_path / 'data' / 'validation.jsonl'}"]
    args += ["--epochs=1", "--num-batches-per-epoch=5", "--batch-size=16", "--num-samples=20"]
    metrics = run(args, env=TrainingEnv(tmp_path / "model", tmp_path / "checkpoints", None, None, None))
    assert metrics["backend"] == "lag-llama"
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["validation_metric"]["value"] > 0
    series = random_walk_prices(1, 256, seed=5)[0].tolist()
    [forecast] = ForecastModel.load(tmp_path / "model").predict(
        [{"series": series, "prediction_length": 15, "freq": "1min"}]
    )
    p10, p50, p90 = (np.array(forecast[k]) for k in ("p10", "p50", "p90"))
    assert len(p50) == 15 and np.all(p10 > 0) and np.all(p10 <= p50) and np.all(p50 <= p90)
