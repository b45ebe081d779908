"""The constrained decoder with a tiny random model: whatever the model prefers, the answer is
JSON valid against the schema (checked with jsonschema, independently of schema.py)."""

import json

import jsonschema
import pytest

from sapphire_common.chat_format import encode_prompt, serving_messages
from sapphire_common.synthetic import decision_prompt
from sapphire_common.tiny_models import build_tiny_causal_lm
from sapphire_llm_serving.constrained import (
    FREE_STRING_CHARS,
    ConstrainedDecoder,
    FreeString,
    GenerationError,
    number_literals,
)
from sapphire_llm_serving.schema import NumberField, compile_schema, decision_schema


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory = build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"), seed=3)
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    model = AutoModelForCausalLM.from_pretrained(str(directory)).eval()
    return ConstrainedDecoder(model, tokenizer)


def prompt_ids(decoder, symbols, leverage):
    prompt = decision_prompt(symbols, [20_000.0 + 3 * i for i in range(30)], leverage)
    return encode_prompt(decoder.tokenizer, serving_messages(prompt, None))


SCHEMAS = [
    decision_schema(["BTCUSDT", "ETHUSDT", "SOLUSDT"], 125),
    {
        "type": "object",
        "properties": {
            "flag": {"type": "boolean"},
            "delta": {"type": "number", "minimum": -2.5, "maximum": 0.75},
            "count": {"type": "integer", "minimum": -3, "maximum": 5000},
            "label": {"type": "string", "enum": ['say "hi"', "naïve", "a,b}"]},
            "note": {"type": "string", "minLength": 3, "maxLength": 12},
        },
        "required": ["flag", "delta"],
        "additionalProperties": False,
    },
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=["decision", "mixed"])
@pytest.mark.parametrize("temperature, seed", [(0.0, 0), (1.0, 1), (2.0, 2)])
def test_every_answer_parses_and_validates(decoder, schema, temperature, seed):
    text = decoder.generate(
        prompt_ids(decoder, ["BTCUSDT", "ETHUSDT", "SOLUSDT"], 125),
        compile_schema(schema),
        max_tokens=256,
        temperature=temperature,
        seed=seed,
    )
    value = json.loads(text)
    jsonschema.validate(value, schema)
    assert list(value) == list(schema["properties"]), "every property, in the schema's order"


def test_greedy_answers_are_reproducible(decoder):
    schema = compile_schema(decision_schema(["BTCUSDT"], 3))
    ids = prompt_ids(decoder, ["BTCUSDT"], 3)
    first = decoder.generate(ids, schema, max_tokens=256, temperature=0, seed=0)
    assert decoder.generate(ids, schema, max_tokens=256, temperature=0, seed=0) == first


def test_too_few_tokens_is_an_error_not_a_truncated_answer(decoder):
    schema = compile_schema(decision_schema(["BTCUSDT"], 3))
    with pytest.raises(GenerationError, match="max_tokens=3"):
        decoder.generate(prompt_ids(decoder, ["BTCUSDT"], 3), schema, max_tokens=3, temperature=0, seed=0)


def test_a_prompt_beyond_the_models_context_is_an_error(decoder):
    schema = compile_schema(decision_schema(["BTCUSDT"], 3))
    with pytest.raises(GenerationError, match="exceeds the model"):
        decoder.generate([5] * 4090, schema, max_tokens=256, temperature=0, seed=0)


def test_number_literals_stay_within_bounds():
    fractions = number_literals(NumberField("f", 0.0, 1.0, integer=False))
    assert fractions[0] == "0" and fractions[-1] == "1" and "0.37" in fractions and len(fractions) == 101
    assert number_literals(NumberField("l", 1.0, 125.0, integer=True)) == [str(i) for i in range(1, 126)]
    wide = number_literals(NumberField("w", 0.0, 1e6, integer=True))
    assert len(wide) <= 1001 and wide[0] == "0" and wide[-1] == "1000000"
    odd = number_literals(NumberField("o", -0.3333333, 0.3333333, integer=False))
    assert all(-0.3333333 <= float(v) <= 0.3333333 for v in odd)


def test_free_strings_take_printable_characters_up_to_the_limit():
    string = FreeString(min_length=1, max_length=3, delimiter=",")
    assert string.accepts("", '"')
    assert not string.accepts('"', '"'), "shorter than minLength"
    assert string.accepts('"ab', 'c"')
    assert not string.accepts('"abc', "d"), "longer than maxLength"
    assert not string.accepts('"a', "\\"), "no escapes"
    assert not string.accepts('"a', "\n"), "no control characters"
    assert string.complete('"abc",') and not string.complete('"abc"')
    assert '"' not in FREE_STRING_CHARS and "\\" not in FREE_STRING_CHARS
