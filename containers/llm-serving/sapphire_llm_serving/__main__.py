"""python -m sapphire_llm_serving — an LLM agent (base model + LoRA adapter) on Vertex's
custom-container contract, answering JSON valid against each request's schema.

Reads AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE and AIP_STORAGE_URI (see
sapphire_common.serving_env) and SAPPHIRE_LLM_ENGINE, SAPPHIRE_BASE_MODEL, SAPPHIRE_MAX_MODEL_LEN,
SAPPHIRE_GPU_MEMORY_UTILIZATION, SAPPHIRE_SEED (see settings.py).
"""

from __future__ import annotations

import sys

from sapphire_common.serving_env import ServingEnv, ServingEnvError
from sapphire_common.storage import materialize_model_dir
from sapphire_common.vertex_http import configure_logging, serve

from .model import LlmModel
from .settings import LlmSettings


def main() -> int:
    configure_logging()
    try:
        env = ServingEnv.from_environ()
        settings = LlmSettings.from_environ()
    except (ServingEnvError, ValueError) as problem:
        print(f"sapphire_llm_serving: {problem}", file=sys.stderr)
        return 2
    return serve(
        env,
        f"llm:{settings.engine}",
        lambda: LlmModel.load(materialize_model_dir(env.storage_uri, env.model_cache_dir), settings),
    )


if __name__ == "__main__":
    sys.exit(main())
