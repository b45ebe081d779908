"""Price forecasts from a GluonTS predictor of log-returns, shared by the trainer and the server.

The predictor never sees prices: a series of prices p_0..p_n becomes the log-returns
r_t = log(p_t / p_{t-1}), the predictor samples future return paths, and each path becomes a price
path p_n * exp(cumsum(r)). Quantiles of those price paths are positive (exp) and ordered
(quantiles of one sample set), whatever the model answers, so the server's output holds
p10 <= p50 <= p90 and > 0 by construction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .artifacts import ArtifactError, ForecasterManifest, read_manifest, write_manifest

#: Cumulative log-returns are clipped to +-50 before exp(): a price path stays a positive,
#: finite float even when a model misbehaves (exp(50) is 5e21; no real forecast gets near it).
MAX_ABS_CUMULATIVE_LOG_RETURN = 50.0
SERVED_QUANTILES = (0.1, 0.5, 0.9)
#: The quantiles of the mean weighted quantile loss (the usual GluonTS mean_wQuantileLoss set).
METRIC_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class ForecastError(Exception):
    """A predictor that answered something unusable (too few finite samples, wrong shape)."""


@dataclass(frozen=True)
class PriceQuantiles:
    """Price quantile paths for one series, each of the horizon's length."""

    quantiles: dict[float, np.ndarray]

    def path(self, q: float) -> np.ndarray:
        return self.quantiles[q]


def log_returns(prices: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(prices, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError("a price series needs at least 2 values")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("prices must be finite and > 0")
    return np.diff(np.log(values))


def period_index_end(freq: str, now: pd.Timestamp | None = None) -> pd.Period:
    """The period of the last closed candle: the one before the period that holds ``now``."""
    moment = pd.Timestamp.now(tz="UTC") if now is None else now
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    return pd.Period(moment, freq=freq) - 1


def returns_entry(returns: np.ndarray, end: pd.Period, item_id: str | None = None) -> dict[str, Any]:
    """A GluonTS data entry for a returns series whose last value falls in period ``end``."""
    entry: dict[str, Any] = {"start": end - (len(returns) - 1), "target": returns.astype(np.float32)}
    if item_id is not None:
        entry["item_id"] = item_id
    return entry


def sample_paths(forecasts: Iterable[Any], num_samples: int) -> list[np.ndarray]:
    """(num_samples, horizon) return samples from GluonTS forecasts, sample- or distribution-based."""
    paths: list[np.ndarray] = []
    for forecast in forecasts:
        samples = getattr(forecast, "samples", None)
        if samples is None:  # a DistributionForecast: draw from its distribution
            samples = forecast.to_sample_forecast(num_samples).samples
        array = np.asarray(samples, dtype=np.float64)
        if array.ndim != 2:
            raise ForecastError(f"expected (samples, horizon) forecast samples, got shape {array.shape}")
        paths.append(array)
    return paths


def price_quantiles(
    last_price: float,
    return_samples: np.ndarray,
    horizon: int,
    quantiles: Sequence[float] = SERVED_QUANTILES,
) -> PriceQuantiles:
    """Price quantiles at each step of the horizon from sampled log-return paths."""
    if return_samples.shape[1] < horizon:
        raise ForecastError(f"the model forecasts {return_samples.shape[1]} steps, {horizon} were asked")
    finite = return_samples[np.all(np.isfinite(return_samples[:, :horizon]), axis=1), :horizon]
    if finite.shape[0] < max(1, return_samples.shape[0] // 2):
        raise ForecastError(f"only {finite.shape[0]} of {return_samples.shape[0]} sample paths are finite")
    cumulative = np.clip(np.cumsum(finite, axis=1), -MAX_ABS_CUMULATIVE_LOG_RETURN, MAX_ABS_CUMULATIVE_LOG_RETURN)
    # Quantiles of the log-price paths, then exp: the same as quantiles of the price paths
    # (exp is increasing), without overflow in between.
    levels = np.quantile(cumulative, np.asarray(quantiles), axis=0)
    prices = last_price * np.exp(levels)
    # np.quantile is monotone in q; enforce it against floating-point ties all the same.
    prices = np.maximum.accumulate(prices, axis=0)
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ForecastError("price quantiles are not finite and positive")
    return PriceQuantiles({q: prices[i] for i, q in enumerate(quantiles)})


def forecast_prices(
    predictor: Any,
    price_series: Sequence[np.ndarray],
    *,
    horizon: int,
    freq: str,
    num_samples: int,
    ends: Sequence[pd.Period] | None = None,
    quantiles: Sequence[float] = SERVED_QUANTILES,
) -> list[PriceQuantiles]:
    """One batched predictor call for several price series, oldest price first.

    ``ends`` gives the period of each series' last price (time features of models that use
    them); by default every series ends with the last closed period before now.
    """
    from gluonts.dataset.common import ListDataset

    periods = list(ends) if ends is not None else [period_index_end(freq)] * len(price_series)
    if len(periods) != len(price_series):
        raise ValueError("one end period per series is needed")
    entries = [returns_entry(log_returns(series), end) for series, end in zip(price_series, periods, strict=True)]
    dataset = ListDataset(entries, freq=freq)
    samples = sample_paths(predictor.predict(dataset, num_samples=num_samples), num_samples)
    if len(samples) != len(price_series):
        raise ForecastError(f"the predictor answered {len(samples)} forecasts for {len(price_series)} series")
    return [
        price_quantiles(float(series[-1]), paths, horizon, quantiles)
        for series, paths in zip(price_series, samples, strict=True)
    ]


def mean_weighted_quantile_loss(actual: np.ndarray, forecasts: Sequence[PriceQuantiles]) -> float:
    """GluonTS's mean_wQuantileLoss over the forecasts' quantiles: lower is better, 0 is perfect.

    wQL(q) = 2 * sum |(y - y_q) * (1{y <= y_q} - q)| / sum |y|, averaged over q.
    ``actual`` is (windows, horizon); forecast i covers row i.
    """
    if len(forecasts) != actual.shape[0] or len(forecasts) == 0:
        raise ValueError("one forecast per actual window is needed")
    levels = sorted(forecasts[0].quantiles)
    denominator = float(np.abs(actual).sum())
    if denominator == 0:
        raise ValueError("actual values sum to 0: weighted quantile loss is undefined")
    losses = []
    for q in levels:
        predicted = np.stack([f.path(q) for f in forecasts])
        losses.append(2.0 * float(np.abs((actual - predicted) * ((actual <= predicted) - q)).sum()) / denominator)
    result = float(np.mean(losses))
    if not math.isfinite(result):
        raise ValueError("weighted quantile loss is not finite")
    return result


def naive_quantiles(last_price: float, horizon: int, quantiles: Sequence[float]) -> PriceQuantiles:
    """The no-change forecast (every quantile at the last price): the baseline a model must beat."""
    return PriceQuantiles({q: np.full(horizon, last_price, dtype=np.float64) for q in quantiles})


def feedforward_estimator(
    *,
    prediction_length: int,
    context_length: int,
    epochs: int,
    batch_size: int,
    num_batches_per_epoch: int,
    learning_rate: float,
    hidden_dimensions: Sequence[int] = (64, 64),
    trainer_kwargs: dict[str, Any] | None = None,
) -> Any:
    """The stand-in for Lag-Llama: GluonTS's torch SimpleFeedForward with a Student-t output."""
    from gluonts.torch.model.simple_feedforward import SimpleFeedForwardEstimator

    return SimpleFeedForwardEstimator(
        prediction_length=prediction_length,
        context_length=context_length,
        hidden_dimensions=list(hidden_dimensions),
        lr=learning_rate,
        batch_size=batch_size,
        num_batches_per_epoch=num_batches_per_epoch,
        trainer_kwargs={"max_epochs": epochs, **(trainer_kwargs or {})},
    )


def load_predictor(model_dir: Path) -> tuple[ForecasterManifest, Any]:
    """A forecaster model directory's manifest and predictor, on the GPU when there is one."""
    import torch
    from gluonts.model.predictor import Predictor

    manifest = read_manifest(model_dir)
    if not isinstance(manifest, ForecasterManifest):
        raise ArtifactError(f"{model_dir} holds a {manifest.kind} model, not a forecaster")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return manifest, Predictor.deserialize(model_dir / manifest.predictor_dir, device=device)


def save_predictor(model_dir: Path, predictor: Any, manifest: ForecasterManifest) -> None:
    """Writes the predictor and the manifest in the layout of sapphire_common.artifacts."""
    target = model_dir / manifest.predictor_dir
    target.mkdir(parents=True, exist_ok=True)
    predictor.serialize(target)
    write_manifest(model_dir, manifest)
