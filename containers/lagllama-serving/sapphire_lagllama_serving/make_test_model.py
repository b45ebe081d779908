"""python -m sapphire_lagllama_serving.make_test_model DIR — a tiny forecaster for tests, in seconds on CPU.

Trains the feedforward stand-in for Lag-Llama on synthetic minute prices and writes it in the
trainer's layout (sapphire_model.json, predictor/, metrics.json), ready for AIP_STORAGE_URI=DIR.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sapphire_common.artifacts import ForecasterManifest, validation_metric, write_metrics
from sapphire_common.forecasting import feedforward_estimator, log_returns, returns_entry, save_predictor
from sapphire_common.synthetic import random_walk_prices
from sapphire_common.tiny_models import make_test_model_cli

PREDICTION_LENGTH = 15
#: 31 returns: the shortest series Sapphire sends (32 prices) fills the whole context.
CONTEXT_LENGTH = 31
FREQ = "1min"


def make_test_model(model_dir: Path, *, seed: int = 0, prediction_length: int = PREDICTION_LENGTH) -> Path:
    import lightning.pytorch as pl
    import pandas as pd
    from gluonts.dataset.common import ListDataset

    pl.seed_everything(seed, workers=True)
    end = pd.Period("2023-03-10 12:00", freq=FREQ)
    series = random_walk_prices(8, 400, seed=seed)
    dataset = ListDataset([returns_entry(log_returns(s), end) for s in series], freq=FREQ)
    with tempfile.TemporaryDirectory(prefix="sapphire-test-model-") as scratch:
        estimator = feedforward_estimator(
            prediction_length=prediction_length,
            context_length=CONTEXT_LENGTH,
            epochs=2,
            batch_size=32,
            num_batches_per_epoch=20,
            learning_rate=1e-3,
            hidden_dimensions=(32, 32),
            trainer_kwargs={
                "accelerator": "cpu",
                "default_root_dir": scratch,
                "logger": False,
                "enable_progress_bar": False,
                "enable_model_summary": False,
            },
        )
        predictor = estimator.train(dataset)
    manifest = ForecasterManifest(
        agent_id="lagllama-test",
        backend="feedforward",
        freq=FREQ,
        prediction_length=prediction_length,
        context_length=CONTEXT_LENGTH,
        num_samples=100,
    )
    save_predictor(model_dir, predictor, manifest)
    write_metrics(
        model_dir,
        {
            "agent_id": manifest.agent_id,
            "kind": "forecaster",
            "backend": manifest.backend,
            "validation_metric": validation_metric("mean_weighted_quantile_loss", 0.0, higher_is_better=False),
            "train_rows": len(series),
            "validation_rows": 0,
            "note": "test model: synthetic data, not evaluated",
        },
    )
    return model_dir


def main(argv: list[str] | None = None) -> int:
    return make_test_model_cli("python -m sapphire_lagllama_serving.make_test_model", __doc__, make_test_model, argv)


if __name__ == "__main__":
    sys.exit(main())
