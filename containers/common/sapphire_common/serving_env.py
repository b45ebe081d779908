"""Vertex AI's custom serving container contract: the one module that reads its AIP_* variables.

Vertex sets these when it runs a custom container for a deployed model
(https://cloud.google.com/vertex-ai/docs/predictions/custom-container-requirements):

- AIP_HTTP_PORT: the port to listen on (0.0.0.0), 8080 unless the model says otherwise.
- AIP_HEALTH_ROUTE: answers 200 once the model is loaded and ready for traffic.
- AIP_PREDICT_ROUTE: POST {"instances": [...], "parameters": ...} -> {"predictions": [...]}.
- AIP_STORAGE_URI: a gs:// copy of the model directory, which the container downloads itself;
  a local directory when run outside Vertex.
- AIP_DEPLOYED_MODEL_ID, AIP_ENDPOINT_ID: logged, to tell replicas and models apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 8080
DEFAULT_HEALTH_ROUTE = "/health"
DEFAULT_PREDICT_ROUTE = "/predict"


class ServingEnvError(Exception):
    """A variable of the contract that is missing or malformed."""


@dataclass(frozen=True)
class ServingEnv:
    http_port: int
    health_route: str
    predict_route: str
    storage_uri: str
    deployed_model_id: str | None
    endpoint_id: str | None
    #: Where a gs:// model directory is downloaded to (SAPPHIRE_MODEL_CACHE).
    model_cache_dir: Path
    #: The listening address (SAPPHIRE_HOST); Vertex needs 0.0.0.0, tests use 127.0.0.1.
    host: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServingEnv:
        env = os.environ if environ is None else environ
        storage_uri = env.get("AIP_STORAGE_URI", "").strip()
        if not storage_uri:
            raise ServingEnvError("AIP_STORAGE_URI is not set: point it at the model directory (gs:// or local)")
        return cls(
            http_port=_port(env.get("AIP_HTTP_PORT", str(DEFAULT_PORT))),
            health_route=_route("AIP_HEALTH_ROUTE", env.get("AIP_HEALTH_ROUTE", DEFAULT_HEALTH_ROUTE)),
            predict_route=_route("AIP_PREDICT_ROUTE", env.get("AIP_PREDICT_ROUTE", DEFAULT_PREDICT_ROUTE)),
            storage_uri=storage_uri,
            deployed_model_id=env.get("AIP_DEPLOYED_MODEL_ID") or None,
            endpoint_id=env.get("AIP_ENDPOINT_ID") or None,
            model_cache_dir=Path(env.get("SAPPHIRE_MODEL_CACHE", "/tmp/sapphire-model")),
            host=env.get("SAPPHIRE_HOST", "0.0.0.0"),
        )


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError as error:
        raise ServingEnvError(f"AIP_HTTP_PORT must be an integer, got {value!r}") from error
    if not 0 < port < 65536:
        raise ServingEnvError(f"AIP_HTTP_PORT must be a TCP port, got {port}")
    return port


def _route(name: str, value: str) -> str:
    route = value.strip()
    if not route.startswith("/"):
        raise ServingEnvError(f"{name} must be a path starting with /, got {value!r}")
    return route
