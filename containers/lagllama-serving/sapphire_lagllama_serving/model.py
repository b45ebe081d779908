"""A forecaster model directory (see sapphire_common.artifacts) answering price quantile paths."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sapphire_common.artifacts import ArtifactError, ForecasterManifest
from sapphire_common.forecasting import forecast_prices, load_predictor

from .instances import ForecastInstance, parse_instance

log = logging.getLogger(__name__)

#: Sampling is seeded per request, so the same series gets the same forecast.
SAMPLING_SEED = 0


@dataclass
class ForecastModel:
    manifest: ForecasterManifest
    predictor: Any

    def __post_init__(self) -> None:
        # Torch's RNG is global; one prediction at a time keeps seeded sampling reproducible.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path) -> ForecastModel:
        manifest, predictor = load_predictor(model_dir)
        if getattr(predictor, "prediction_length", manifest.prediction_length) != manifest.prediction_length:
            raise ArtifactError("the predictor's prediction_length differs from the manifest's")
        log.info(
            "loaded %s forecaster of %s (%s steps of %s, %d samples)",
            manifest.backend,
            manifest.agent_id,
            manifest.prediction_length,
            manifest.freq,
            manifest.num_samples,
        )
        return cls(manifest, predictor)

    def parse(self, instances: list[Any]) -> list[ForecastInstance]:
        return [
            parse_instance(i, raw, model_freq=self.manifest.freq, max_prediction_length=self.manifest.prediction_length)
            for i, raw in enumerate(instances)
        ]

    def predict(self, instances: list[Any], parameters: Any = None) -> list[dict[str, list[float]]]:
        del parameters  # nothing to tune per request
        parsed = self.parse(instances)
        import torch

        with self._lock:
            torch.manual_seed(SAMPLING_SEED)
            forecasts = forecast_prices(
                self.predictor,
                [instance.series for instance in parsed],
                horizon=self.manifest.prediction_length,
                freq=self.manifest.freq,
                num_samples=self.manifest.num_samples,
            )
        return [
            {
                "p10": forecast.path(0.1)[: instance.prediction_length].tolist(),
                "p50": forecast.path(0.5)[: instance.prediction_length].tolist(),
                "p90": forecast.path(0.9)[: instance.prediction_length].tolist(),
            }
            for instance, forecast in zip(parsed, forecasts, strict=True)
        ]
