"""The instance Sapphire sends (VertexForecastModel in shared/inference/models.ts) and its checks.

    {"series": [closing prices, oldest first, 32..256 values], "prediction_length": 15, "freq": "1min"}

Every price must be a finite number > 0. ``prediction_length`` may not exceed what the model was
trained for; ``freq`` must name the model's frequency ("1min", "1T" and "min" are the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sapphire_common.vertex_http import BadRequest

MIN_SERIES = 32
MAX_SERIES = 256
FIELDS = {"series", "prediction_length", "freq"}


@dataclass(frozen=True)
class ForecastInstance:
    series: np.ndarray
    prediction_length: int
    freq: str


def same_frequency(a: str, b: str) -> bool:
    try:
        return pd.tseries.frequencies.to_offset(a) == pd.tseries.frequencies.to_offset(b)
    except ValueError:
        return False


def parse_instance(index: int, raw: Any, *, model_freq: str, max_prediction_length: int) -> ForecastInstance:
    where = f"instances[{index}]"
    if not isinstance(raw, dict):
        raise BadRequest(f'{where} must be an object {{"series": [...], "prediction_length": n, "freq": "1min"}}')
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise BadRequest(f"{where} has unknown fields {unknown}; expected {sorted(FIELDS)}")

    series = raw.get("series")
    if not isinstance(series, list):
        raise BadRequest(f"{where}.series must be an array of prices")
    if not MIN_SERIES <= len(series) <= MAX_SERIES:
        raise BadRequest(f"{where}.series must have {MIN_SERIES} to {MAX_SERIES} prices, got {len(series)}")
    for position, price in enumerate(series):
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price <= 0:
            raise BadRequest(f"{where}.series[{position}] must be a finite number > 0, got {price!r}")

    horizon = raw.get("prediction_length")
    if isinstance(horizon, bool) or not isinstance(horizon, int):
        raise BadRequest(f"{where}.prediction_length must be an integer")
    if not 1 <= horizon <= max_prediction_length:
        raise BadRequest(
            f"{where}.prediction_length must be between 1 and {max_prediction_length} for this model, got {horizon}"
        )

    freq = raw.get("freq")
    if not isinstance(freq, str) or not freq:
        raise BadRequest(f'{where}.freq must be a pandas frequency string such as "1min"')
    if not same_frequency(freq, model_freq):
        raise BadRequest(f"{where}.freq is {freq!r}, but this model forecasts {model_freq!r} steps")

    return ForecastInstance(np.asarray(series, dtype=np.float64), horizon, model_freq)
