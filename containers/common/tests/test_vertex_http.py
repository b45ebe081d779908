"""The HTTP contract of every serving image, with stand-in models, on a real uvicorn server."""

import threading
import time

import pytest
import uvicorn

from sapphire_common.serving_env import ServingEnv
from sapphire_common.vertex_http import BadRequest, ModelSlot, create_app
from sapphire_testing.servers import HttpClient, free_port

HEALTH, PREDICT = "/v1/endpoints/1/deployedModels/2", "/v1/endpoints/1/deployedModels/2:predict"


class Echo:
    def predict(self, instances, parameters):
        if any(instance == "bad" for instance in instances):
            raise BadRequest("instances[0] is bad")
        if any(instance == "crash" for instance in instances):
            raise RuntimeError("secret internals")
        if any(instance == "short" for instance in instances):
            return []
        return [{"echo": instance, "parameters": parameters} for instance in instances]


@pytest.fixture
def served():
    port = free_port()
    env = ServingEnv.from_environ(
        {
            "AIP_STORAGE_URI": "/unused",
            "AIP_HTTP_PORT": str(port),
            "AIP_HEALTH_ROUTE": HEALTH,
            "AIP_PREDICT_ROUTE": PREDICT,
        }
    )
    slot = ModelSlot(name="echo")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(env, slot, max_body_bytes=1000, max_instances=3),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    client = HttpClient(f"http://127.0.0.1:{port}")
    yield slot, client
    server.should_exit = True
    thread.join(timeout=10)


def post(client, body):
    return client.request("POST", PREDICT, body)


def test_health_is_503_while_loading_and_200_once_loaded(served):
    slot, client = served
    loading = client.request("GET", HEALTH)
    assert (loading.status, loading.json()) == (503, {"status": "loading"})
    assert post(client, b'{"instances": [1]}').status == 503
    slot.set(Echo())
    assert client.request("GET", HEALTH).json() == {"status": "ready", "model": "echo"}


def test_health_reports_a_failed_load(served):
    slot, client = served
    slot.fail("ArtifactError: no manifest")
    response = client.request("GET", HEALTH)
    assert (response.status, response.json()) == (503, {"status": "failed", "error": "ArtifactError: no manifest"})


def test_predictions_come_back_in_order_with_the_parameters(served):
    slot, client = served
    slot.set(Echo())
    response = post(client, b'{"instances": [1, {"a": 2}], "parameters": {"p": 1}}')
    assert response.status == 200
    assert response.json() == {
        "predictions": [{"echo": 1, "parameters": {"p": 1}}, {"echo": {"a": 2}, "parameters": {"p": 1}}]
    }


@pytest.mark.parametrize(
    "body, status, error",
    [
        (b'{"instances": ["bad"]}', 400, "instances[0] is bad"),
        (b'{"instances": [1, 2, 3, 4]}', 400, '"instances" has 4 items; at most 3 per request'),
        (b'{"instances": [Infinity]}', 400, "the body is not valid JSON: Infinity is not a JSON number"),
        (b'{"instances": ["' + b"x" * 1000 + b'"]}', 413, "the body is larger than 1000 bytes"),
        (b'{"instances": ["crash"]}', 500, "internal error while predicting; see the server log"),
        (b'{"instances": ["short"]}', 500, "internal error: prediction count does not match the instances"),
    ],
)
def test_errors_are_json_and_never_leak_internals(served, body, status, error):
    slot, client = served
    slot.set(Echo())
    response = post(client, body)
    assert (response.status, response.json()) == (status, {"error": error})
    assert b"secret internals" not in response.body and b"Traceback" not in response.body
