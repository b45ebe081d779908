"""python -m sapphire_lagllama_serving — the Lag-Llama forecaster on Vertex's custom-container contract.

Reads AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE and AIP_STORAGE_URI (see
sapphire_common.serving_env); SAPPHIRE_HOST=127.0.0.1 keeps a local run off the network.
"""

from __future__ import annotations

import sys

from sapphire_common.serving_env import ServingEnv, ServingEnvError
from sapphire_common.storage import materialize_model_dir
from sapphire_common.vertex_http import configure_logging, serve

from .model import ForecastModel


def main() -> int:
    configure_logging()
    try:
        env = ServingEnv.from_environ()
    except ServingEnvError as problem:
        print(f"sapphire_lagllama_serving: {problem}", file=sys.stderr)
        return 2
    return serve(
        env, "lagllama", lambda: ForecastModel.load(materialize_model_dir(env.storage_uri, env.model_cache_dir))
    )


if __name__ == "__main__":
    sys.exit(main())
