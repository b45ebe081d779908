from pathlib import Path

import pytest

from sapphire_common.serving_env import ServingEnv, ServingEnvError


def test_vertexs_variables_are_read():
    env = ServingEnv.from_environ(
        {
            "AIP_HTTP_PORT": "7080",
            "AIP_HEALTH_ROUTE": "/v1/endpoints/1/deployedModels/2",
            "AIP_PREDICT_ROUTE": "/v1/endpoints/1/deployedModels/2:predict",
            "AIP_STORAGE_URI": "gs://bucket/model",
            "AIP_DEPLOYED_MODEL_ID": "2",
            "AIP_ENDPOINT_ID": "1",
        }
    )
    assert (env.http_port, env.health_route, env.predict_route) == (
        7080,
        "/v1/endpoints/1/deployedModels/2",
        "/v1/endpoints/1/deployedModels/2:predict",
    )
    assert (env.storage_uri, env.deployed_model_id, env.endpoint_id) == ("gs://bucket/model", "2", "1")
    assert env.host == "0.0.0.0"


def test_defaults_outside_vertex():
    env = ServingEnv.from_environ({"AIP_STORAGE_URI": "/models/x", "SAPPHIRE_HOST": "127.0.0.1"})
    assert (env.http_port, env.health_route, env.predict_route, env.host) == (8080, "/health", "/predict", "127.0.0.1")
    assert env.model_cache_dir == Path("/tmp/sapphire-model")


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "AIP_STORAGE_URI"),
        ({"AIP_STORAGE_URI": "/m", "AIP_HTTP_PORT": "http"}, "integer"),
        ({"AIP_STORAGE_URI": "/m", "AIP_HTTP_PORT": "70000"}, "TCP port"),
        ({"AIP_STORAGE_URI": "/m", "AIP_PREDICT_ROUTE": "predict"}, "starting with /"),
    ],
)
def test_a_broken_contract_is_refused(environ, message):
    with pytest.raises(ServingEnvError, match=message):
        ServingEnv.from_environ(environ)
