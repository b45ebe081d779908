"""The Lag-Llama server as Vertex runs it: a process with AIP_* variables, over HTTP."""

import subprocess
import sys

import numpy as np
import pytest

from sapphire_common.synthetic import random_walk_prices
from sapphire_testing.servers import package_env, start_server, stop, wait_until_ready


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lagllama-model")
    # Through the command line, as a TypeScript test would make one.
    subprocess.run(
        [sys.executable, "-m", "sapphire_lagllama_serving.make_test_model", str(directory)],
        check=True,
        capture_output=True,
        env=package_env("lagllama-serving"),
    )
    return directory


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    running = start_server(
        "sapphire_lagllama_serving", "lagllama-serving", model_dir, tmp_path_factory.mktemp("log") / "server.log"
    )
    try:
        wait_until_ready(running)
        yield running
    finally:
        stop(running)


def sapphire_instances():
    """What VertexForecastModel sends: the last 256 (or all, at least 32) closes."""
    long, short = random_walk_prices(2, 300, seed=4)
    return [
        {"series": [round(p, 2) for p in long[-256:]], "prediction_length": 15, "freq": "1min"},
        {"series": [round(p, 2) for p in short[:32]], "prediction_length": 15, "freq": "1min"},
    ]


def test_health_answers_200_once_the_model_is_loaded(server):
    response = server.health()
    assert response.status == 200
    assert response.json()["status"] == "ready"


def test_sapphires_instances_get_ordered_positive_quantile_paths(server):
    instances = sapphire_instances()
    response = server.predict({"instances": instances})
    assert response.status == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == 2
    for instance, prediction in zip(instances, predictions, strict=True):
        assert set(prediction) == {"p10", "p50", "p90"}
        p10, p50, p90 = (np.array(prediction[k]) for k in ("p10", "p50", "p90"))
        assert len(p10) == len(p50) == len(p90) == 15
        assert np.all(p10 > 0) and np.all(p10 <= p50) and np.all(p50 <= p90)
        last = instance["series"][-1]
        assert abs(p50[-1] / last - 1) < 0.05, "a minute-scale forecast stays near the last price"


def test_the_same_request_gets_the_same_forecast(server):
    payload = {"instances": sapphire_instances()[:1]}
    assert server.predict(payload).json() == server.predict(payload).json()


def test_a_shorter_horizon_cuts_the_paths(server):
    instance = {**sapphire_instances()[0], "prediction_length": 5}
    [prediction] = server.predict({"instances": [instance]}).json()["predictions"]
    assert [len(prediction[k]) for k in ("p10", "p50", "p90")] == [5, 5, 5]


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"instances": [{"series": [100.0] * 31, "prediction_length": 15, "freq": "1min"}]},
            "instances[0].series must have 32 to 256",
        ),
        (
            {"instances": [sapphire_instances()[0], {"series": [100.0] * 40, "prediction_length": 99, "freq": "1min"}]},
            "instances[1].prediction_length",
        ),
        ({"instances": [{"series": [100.0] * 40, "prediction_length": 15, "freq": "1h"}]}, "instances[0].freq"),
        ({"instances": []}, '"instances" must not be empty'),
        ({"inputs": []}, '"instances" must be an array'),
        (b'{"instances": [{"series": [NaN], "prediction_length": 15, "freq": "1min"}]}', "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
    ],
)
def test_a_bad_request_is_a_400_with_a_json_error(server, body, message):
    response = server.predict(body)
    assert response.status == 400
    error = response.json()["error"]
    assert message in error
    assert "Traceback" not in response.body.decode()


def test_other_routes_and_methods_answer_json_errors(server):
    assert server.request("GET", "/nowhere").status == 404
    assert server.request("GET", "/nowhere").json() == {"error": "Not Found"}
    wrong_method = server.request("GET", "/v1/endpoints/1234/deployedModels/5678:predict")
    assert wrong_method.status == 405 and "error" in wrong_method.json()


def test_a_model_directory_that_does_not_load_stops_the_server(tmp_path, server_processes):
    broken = tmp_path / "empty-model"
    broken.mkdir()
    running = start_server("sapphire_lagllama_serving", "lagllama-serving", broken, tmp_path / "server.log")
    server_processes.append(running)
    assert running.process.wait(timeout=120) == 1
    assert "sapphire_model.json is missing" in running.log_tail()
