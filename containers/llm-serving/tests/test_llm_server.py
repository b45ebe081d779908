"""The LLM server with the transformers engine on a tiny model: in process for the contract's
details, and once as a real process, as Vertex runs it."""

import json
import subprocess
import sys

import jsonschema
import pytest

from sapphire_common.synthetic import decision_prompt
from sapphire_common.vertex_http import BadRequest
from sapphire_llm_serving.model import LlmModel
from sapphire_llm_serving.schema import decision_schema, schema_from_prompt
from sapphire_llm_serving.settings import LlmSettings
from sapphire_testing.servers import package_env, start_server, stop, wait_until_ready

SYMBOLS = ["BTCUSDT", "ETHUSDT"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("llm-model")
    # Through the command line, as a TypeScript test would make one.
    subprocess.run(
        [sys.executable, "-m", "sapphire_llm_serving.make_test_model", str(directory)],
        check=True,
        capture_output=True,
        env=package_env("llm-serving"),
    )
    return directory


@pytest.fixture(scope="module")
def model(model_dir):
    return LlmModel.load(model_dir, LlmSettings.from_environ({"SAPPHIRE_LLM_ENGINE": "transformers"}))


def sapphire_instance(leverage=10, **overrides):
    """What VertexLlmModel sends, plus the response_schema Sapphire will add."""
    prompt = decision_prompt(SYMBOLS, [20_000.0 + 2.5 * i for i in range(30)], leverage)
    instance = {"prompt": prompt, "max_tokens": 256, "temperature": 0, "raw_response": True}
    instance["response_schema"] = decision_schema(SYMBOLS, leverage)
    instance.update(overrides)
    return instance


def test_answers_validate_against_the_schema_sent(model):
    instances = [sapphire_instance(), sapphire_instance(temperature=0.9), sapphire_instance(leverage=3)]
    answers = model.predict(instances)
    assert len(answers) == 3
    for instance, answer in zip(instances, answers, strict=True):
        assert isinstance(answer, str)
        jsonschema.validate(json.loads(answer.strip()), instance["response_schema"])


def test_without_a_schema_the_decision_schema_comes_from_the_prompt(model):
    instance = sapphire_instance(leverage=4)
    del instance["response_schema"]
    [answer] = model.predict([instance])
    decision = json.loads(answer)
    jsonschema.validate(decision, schema_from_prompt(instance["prompt"]))
    assert decision["symbol"] in SYMBOLS and 1 <= decision["leverage"] <= 4


def test_raw_response_false_wraps_the_answer_as_vertexs_vllm_container_does(model):
    instance = sapphire_instance(raw_response=False)
    [answer] = model.predict([instance])
    prefix = f"Prompt:\n{instance['prompt']}\nOutput:\n"
    assert answer.startswith(prefix)
    jsonschema.validate(json.loads(answer[len(prefix) :]), instance["response_schema"])


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"prompt": ""}, "prompt must be a non-empty string"),
        ({"max_tokens": 0}, "max_tokens must be an integer"),
        ({"max_tokens": "256"}, "max_tokens must be an integer"),
        ({"temperature": -1}, "temperature must be between"),
        ({"raw_response": "yes"}, "raw_response must be true or false"),
        ({"response_schema": {"type": "array"}}, '"type": "object"'),
        ({"stream": True}, "unknown fields"),
        ({"response_schema": None, "prompt": "Decide."}, "does not name its symbols"),
    ],
)
def test_bad_instances_are_refused_with_the_field_named(model, overrides, message):
    with pytest.raises(BadRequest, match=rf"instances\[0\].*{message}"):
        model.predict([sapphire_instance(**overrides)])


def test_too_small_a_max_tokens_is_a_bad_request(model):
    with pytest.raises(BadRequest, match="max_tokens=2 is too small"):
        model.predict([sapphire_instance(max_tokens=2)])


def test_the_server_process_answers_health_predict_and_bad_requests(model_dir, tmp_path):
    running = start_server(
        "sapphire_llm_serving",
        "llm-serving",
        model_dir,
        tmp_path / "server.log",
        {"SAPPHIRE_LLM_ENGINE": "transformers"},
    )
    try:
        wait_until_ready(running)
        health = running.health()
        assert health.status == 200 and health.json() == {"status": "ready", "model": "llm:transformers"}

        instance = sapphire_instance()
        del instance["response_schema"]  # what Sapphire sends today
        response = running.predict({"instances": [instance]})
        assert response.status == 200
        [answer] = response.json()["predictions"]
        jsonschema.validate(json.loads(answer), decision_schema(SYMBOLS, 10))

        bad = running.predict({"instances": [{"prompt": 42}]})
        assert bad.status == 400
        assert bad.json() == {"error": "instances[0].prompt must be a non-empty string"}
    finally:
        stop(running)
