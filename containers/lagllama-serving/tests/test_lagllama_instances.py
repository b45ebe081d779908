import pytest

from sapphire_common.vertex_http import BadRequest
from sapphire_lagllama_serving.instances import parse_instance


def instance(**overrides):
    return {"series": [100.0 + i for i in range(32)], "prediction_length": 15, "freq": "1min", **overrides}


def parse(raw):
    return parse_instance(0, raw, model_freq="1min", max_prediction_length=15)


def test_sapphires_instance_is_accepted_as_sent():
    parsed = parse(instance(series=[20_000.5] * 256))
    assert parsed.series.shape == (256,) and parsed.prediction_length == 15 and parsed.freq == "1min"


@pytest.mark.parametrize("freq", ["1min", "min", "T", "1T"])
def test_aliases_of_the_models_frequency_are_accepted(freq):
    assert parse(instance(freq=freq)).freq == "1min"


@pytest.mark.parametrize(
    "raw, message",
    [
        ([1, 2, 3], "must be an object"),
        (instance(series=[100.0] * 31), "32 to 256 prices, got 31"),
        (instance(series=[100.0] * 257), "32 to 256 prices, got 257"),
        (instance(series="100,101"), "series must be an array"),
        (instance(series=[100.0] * 31 + [0]), r"series\[31\] must be a finite number > 0"),
        (instance(series=[100.0] * 31 + [-5.0]), r"series\[31\]"),
        (instance(series=[100.0] * 31 + ["101"]), r"series\[31\]"),
        (instance(series=[100.0] * 31 + [True]), r"series\[31\]"),
        (instance(prediction_length=16), "between 1 and 15"),
        (instance(prediction_length=0), "between 1 and 15"),
        (instance(prediction_length=15.0), "must be an integer"),
        (instance(freq="5min"), "forecasts '1min' steps"),
        (instance(freq="fortnightly"), "forecasts '1min' steps"),
        (instance(freq=None), "freq must be"),
        (instance(extra=1), r"unknown fields \['extra'\]"),
        ({"prediction_length": 15, "freq": "1min"}, "series must be an array"),
    ],
)
def test_bad_instances_are_refused_with_the_field_named(raw, message):
    with pytest.raises(BadRequest, match=rf"^instances\[0\].*{message}"):
        parse(raw)
