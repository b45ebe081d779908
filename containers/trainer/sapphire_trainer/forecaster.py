"""Fine-tuning the forecaster agent: Lag-Llama when its code is importable, else a stand-in.

Input series are GluonTS JSONL (start, target, item_id) of log-returns (what the export of
shared/domain/training-dataset.ts writes), simple returns or prices (see datasets.py). The model
learns log-returns; the server rebuilds prices from them (sapphire_common.forecasting), so the
validation metric is computed on prices, rebuilt from the validation returns, through that very
code: the mean weighted quantile loss of H-step forecasts over the last ``eval_windows`` windows
of every validation series, each forecast from at most the 256 prices before it (what Sapphire
sends). Lower is better; the no-change forecast's loss is reported beside it (not as
``baseline_validation_metric``, which names the serving model's figure) as a floor to beat.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sapphire_common.artifacts import ForecasterManifest, validation_metric, write_metrics
from sapphire_common.forecasting import (
    METRIC_QUANTILES,
    feedforward_estimator,
    forecast_prices,
    load_predictor,
    mean_weighted_quantile_loss,
    naive_quantiles,
    returns_entry,
    save_predictor,
)

from .datasets import DataError, ReturnSeries, read_dataset_manifest, read_series
from .vertex_env import local_path

log = logging.getLogger(__name__)

#: What Sapphire sends the server: 32 to 256 prices.
MIN_CONTEXT_PRICES = 32
MAX_CONTEXT_PRICES = 256


@dataclass(frozen=True)
class ForecasterConfig:
    agent_id: str
    train_uri: str
    validation_uri: str
    model_dir: Path
    checkpoint_dir: Path
    tensorboard_dir: Path | None = None
    #: "auto" (Lag-Llama when importable), "lag-llama" or "feedforward".
    backend: str = "auto"
    #: Lag-Llama: the pretrained checkpoint (lag-llama.ckpt) to fine-tune; none trains from scratch.
    base_model: str | None = None
    #: "auto": the target of the export's manifest.json beside the data, else "price".
    target: str = "auto"
    #: None: the manifest's, else 1min and 15 (Sapphire's horizon).
    freq: str | None = None
    prediction_length: int | None = None
    context_length: int | None = None
    epochs: int = 20
    batch_size: int = 64
    num_batches_per_epoch: int = 50
    learning_rate: float = 5e-4
    num_samples: int = 100
    eval_windows: int = 4
    seed: int = 0
    #: The serving model's directory: its loss on these validation windows becomes baseline_validation_metric.
    baseline_model: Path | None = None


class ForecastBackend(Protocol):
    name: str
    default_context_length: int

    def estimator(
        self, config: ForecasterConfig, prediction_length: int, context_length: int, trainer_kwargs: dict[str, Any]
    ) -> Any:
        """A GluonTS estimator of the log-returns; its train() returns a serializable predictor."""
        ...


class FeedForwardBackend:
    """GluonTS's SimpleFeedForward: seconds to train on CPU, for tests and as a fallback."""

    name = "feedforward"
    default_context_length = MIN_CONTEXT_PRICES - 1

    def estimator(
        self, config: ForecasterConfig, prediction_length: int, context_length: int, trainer_kwargs: dict[str, Any]
    ) -> Any:
        return feedforward_estimator(
            prediction_length=prediction_length,
            context_length=context_length,
            epochs=config.epochs,
            batch_size=config.batch_size,
            num_batches_per_epoch=config.num_batches_per_epoch,
            learning_rate=config.learning_rate,
            trainer_kwargs=trainer_kwargs,
        )


class LagLlamaBackend:
    """Lag-Llama's estimator (pinned commit, see the Dockerfile), fine-tuned from its checkpoint."""

    name = "lag-llama"
    #: The context Lag-Llama was pretrained with.
    default_context_length = 32

    @staticmethod
    def available() -> bool:
        return importlib.util.find_spec("lag_llama") is not None

    def estimator(
        self, config: ForecasterConfig, prediction_length: int, context_length: int, trainer_kwargs: dict[str, Any]
    ) -> Any:
        import torch
        from lag_llama.gluon.estimator import LagLlamaEstimator

        architecture: dict[str, Any] = {}
        if config.base_model:
            checkpoint = local_path(config.base_model)
            # The checkpoint pickles GluonTS objects in its hyperparameters: it is trusted input.
            hyper = torch.load(checkpoint, map_location="cpu", weights_only=False)["hyper_parameters"]["model_kwargs"]
            architecture = {
                "ckpt_path": str(checkpoint),
                "input_size": hyper["input_size"],
                "n_layer": hyper["n_layer"],
                "n_embd_per_head": hyper["n_embd_per_head"],
                "n_head": hyper["n_head"],
                "scaling": hyper["scaling"],
                "time_feat": hyper["time_feat"],
            }
            pretrained_context = int(hyper["context_length"])
            needed = context_length + prediction_length
            if needed > pretrained_context:
                architecture["rope_scaling"] = {"type": "linear", "factor": needed / pretrained_context}
        else:
            log.warning("no --base-model checkpoint: Lag-Llama trains from random weights")
        return LagLlamaEstimator(
            prediction_length=prediction_length,
            context_length=context_length,
            lr=config.learning_rate,
            batch_size=config.batch_size,
            num_batches_per_epoch=config.num_batches_per_epoch,
            num_parallel_samples=config.num_samples,
            # Returns may be negative: no clipping of samples at 0.
            nonnegative_pred_samples=False,
            trainer_kwargs=trainer_kwargs,
            **architecture,
        )


def choose_backend(name: str) -> ForecastBackend:
    if name == "feedforward":
        return FeedForwardBackend()
    if name == "lag-llama":
        if not LagLlamaBackend.available():
            raise RuntimeError("--forecaster lag-llama, but lag_llama is not importable (see the trainer's Dockerfile)")
        return LagLlamaBackend()
    if name == "auto":
        if LagLlamaBackend.available():
            return LagLlamaBackend()
        log.warning("lag_llama is not importable: training the feedforward stand-in")
        return FeedForwardBackend()
    raise ValueError(f"unknown forecaster backend {name!r}")


@dataclass(frozen=True)
class DataShape:
    target: str
    freq: str
    prediction_length: int


def data_shape(config: ForecasterConfig) -> DataShape:
    manifest = read_dataset_manifest(config.train_uri)
    target = config.target if config.target != "auto" else ((manifest and manifest.target) or "price")
    freq = config.freq or (manifest and manifest.freq) or "1min"
    horizon = config.prediction_length or (manifest and manifest.horizon) or 15
    return DataShape(target, freq, horizon)


def returns_dataset(series: Sequence[ReturnSeries], freq: str) -> Any:
    from gluonts.dataset.common import ListDataset

    entries = [
        returns_entry(s.log_returns, pd.Period(s.start, freq=freq) + (len(s.log_returns) - 1), s.item_id)
        for s in series
    ]
    return ListDataset(entries, freq=freq)


@dataclass(frozen=True)
class EvaluationWindows:
    contexts: list[np.ndarray]
    ends: list[pd.Period]
    actual: np.ndarray


def evaluation_windows(series: Sequence[ReturnSeries], horizon: int, windows: int, freq: str) -> EvaluationWindows:
    """The last ``windows`` non-overlapping horizons of each series, with the prices before each.

    Prices are rebuilt relative to the series' first one (1.0, one period before its first
    return); the weighted quantile loss does not depend on the price level.
    """
    contexts, ends, actual = [], [], []
    for s in series:
        prices = np.exp(np.concatenate([[0.0], np.cumsum(s.log_returns)]))
        first = pd.Period(s.start, freq=freq) - 1
        for w in range(windows):
            cut = len(prices) - horizon * (w + 1)
            if cut < MIN_CONTEXT_PRICES:
                break
            contexts.append(prices[max(0, cut - MAX_CONTEXT_PRICES) : cut])
            ends.append(first + (cut - 1))
            actual.append(prices[cut : cut + horizon])
    if not contexts:
        raise DataError(
            f"no validation series is long enough: each needs at least {MIN_CONTEXT_PRICES + horizon} prices "
            f"({MIN_CONTEXT_PRICES + horizon - 1} returns)"
        )
    return EvaluationWindows(contexts, ends, np.stack(actual))


def tensorboard_callback(log_dir: Path) -> Any:
    """A Lightning callback writing each epoch's metrics as TensorBoard scalars. Not a Lightning
    logger: a logger would move GluonTS's checkpoints into the log directory."""
    import lightning.pytorch as pl
    from torch.utils.tensorboard import SummaryWriter

    class TensorBoardScalars(pl.Callback):
        def __init__(self) -> None:
            self.writer = SummaryWriter(log_dir=str(log_dir))

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            for name, value in trainer.callback_metrics.items():
                self.writer.add_scalar(name, float(value), trainer.current_epoch)
            self.writer.flush()

        def on_fit_end(self, trainer: Any, module: Any) -> None:
            self.writer.close()

    return TensorBoardScalars()


def train_forecaster(config: ForecasterConfig) -> dict[str, Any]:
    import lightning.pytorch as pl
    import torch

    pl.seed_everything(config.seed, workers=True)
    backend = choose_backend(config.backend)
    shape = data_shape(config)
    context_length = config.context_length or backend.default_context_length
    train_series = read_series(config.train_uri, shape.target, shape.freq)
    validation_series = read_series(config.validation_uri, shape.target, shape.freq)
    windows = evaluation_windows(validation_series, shape.prediction_length, config.eval_windows, shape.freq)

    config.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    trainer_kwargs: dict[str, Any] = {
        "max_epochs": config.epochs,
        "accelerator": "gpu" if torch.cuda.is_available() else "cpu",
        "default_root_dir": str(config.checkpoint_dir),
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "deterministic": False,
    }
    if config.tensorboard_dir:
        trainer_kwargs["callbacks"] = [tensorboard_callback(config.tensorboard_dir)]
    estimator = backend.estimator(config, shape.prediction_length, context_length, trainer_kwargs)
    log.info(
        "training %s on %s: %d series, context %d, horizon %d",
        backend.name,
        shape.target,
        len(train_series),
        context_length,
        shape.prediction_length,
    )
    predictor = estimator.train(
        returns_dataset(train_series, shape.freq),
        validation_data=returns_dataset(validation_series, shape.freq),
    )

    def loss_of(candidate: Any) -> float:
        """A predictor's mean weighted quantile loss on the validation windows, seeded alike for every predictor."""
        torch.manual_seed(config.seed)
        forecasts = forecast_prices(
            candidate,
            windows.contexts,
            horizon=shape.prediction_length,
            freq=shape.freq,
            num_samples=config.num_samples,
            ends=windows.ends,
            quantiles=METRIC_QUANTILES,
        )
        return mean_weighted_quantile_loss(windows.actual, forecasts)

    model_loss = loss_of(predictor)
    naive_loss = mean_weighted_quantile_loss(
        windows.actual,
        [naive_quantiles(float(c[-1]), shape.prediction_length, METRIC_QUANTILES) for c in windows.contexts],
    )

    manifest = ForecasterManifest(
        agent_id=config.agent_id,
        backend=backend.name,
        freq=shape.freq,
        prediction_length=shape.prediction_length,
        context_length=context_length,
        num_samples=config.num_samples,
    )
    save_predictor(config.model_dir, predictor, manifest)
    metrics = {
        "agent_id": config.agent_id,
        "kind": "forecaster",
        "backend": backend.name,
        "base_model": config.base_model,
        "validation_metric": validation_metric("mean_weighted_quantile_loss", model_loss, higher_is_better=False),
        "baseline_no_change_mean_weighted_quantile_loss": naive_loss,
        "train_rows": len(train_series),
        "validation_rows": len(validation_series),
        "train_values": sum(len(s.log_returns) for s in train_series),
        "validation_values": sum(len(s.log_returns) for s in validation_series),
        "validation_windows": len(windows.contexts),
        "target": shape.target,
        "prediction_length": shape.prediction_length,
        "context_length": context_length,
        "epochs": config.epochs,
    }
    if config.baseline_model is not None:
        serving_loss = loss_of(load_predictor(config.baseline_model)[1])
        metrics["baseline_validation_metric"] = validation_metric("mean_weighted_quantile_loss", serving_loss, higher_is_better=False)
    write_metrics(config.model_dir, metrics)
    return metrics
