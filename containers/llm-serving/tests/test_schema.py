import pytest

from sapphire_common.synthetic import decision_prompt
from sapphire_llm_serving.schema import (
    BooleanField,
    EnumField,
    NumberField,
    SchemaError,
    StringField,
    compile_schema,
    decision_schema,
    schema_from_prompt,
)

# The prompt's closing line exactly as llmPrompt (shared/inference/models.ts) writes it.
LLM_PROMPT_TAIL = (
    "Answer with exactly one JSON object and nothing else, no prose, no code fence:\n"
    '{"action": "BUY" | "SELL" | "HOLD", "symbol": one of ["BTCUSDT","ETHUSDT"], "size_fraction": share of free '
    'margin between 0 and 1, "leverage": integer from 1 to 20, "confidence": number between 0 and 1, '
    '"rationale": one sentence}'
)


def test_the_decision_schema_compiles_to_its_six_fields():
    schema = compile_schema(decision_schema(["BTCUSDT", "ETHUSDT"], 20))
    assert schema.fields == (
        EnumField("action", ("BUY", "SELL", "HOLD")),
        EnumField("symbol", ("BTCUSDT", "ETHUSDT")),
        NumberField("size_fraction", 0.0, 1.0, integer=False),
        NumberField("leverage", 1.0, 20.0, integer=True),
        NumberField("confidence", 0.0, 1.0, integer=False),
        StringField("rationale", 0, 200),
    )


def test_the_schema_is_read_from_an_llm_prompt():
    prompt = "You are X.\nFree margin: 1000 USD. Maximum leverage: 20.\n" + LLM_PROMPT_TAIL
    assert schema_from_prompt(prompt) == decision_schema(["BTCUSDT", "ETHUSDT"], 20)


def test_the_schema_is_read_from_the_synthetic_prompt_too():
    prompt = decision_prompt(["SOLUSDT"], [1.0] * 30, 7)
    assert schema_from_prompt(prompt) == decision_schema(["SOLUSDT"], 7)


@pytest.mark.parametrize(
    "prompt",
    [
        "Decide something.",
        '"symbol": one of ["BTCUSDT"] and nothing about leverage',
        "leverage: integer from 1 to 5, but no symbols",
        '"symbol": one of [BTCUSDT], "leverage": integer from 1 to 5',
        '"symbol": one of [], "leverage": integer from 1 to 5',
        '"symbol": one of ["BTCUSDT"], "leverage": integer from 1 to 0',
    ],
)
def test_a_prompt_without_symbols_or_leverage_gives_no_schema(prompt):
    with pytest.raises(SchemaError):
        schema_from_prompt(prompt)


def test_booleans_and_bounded_strings_are_supported():
    schema = compile_schema(
        {
            "type": "object",
            "properties": {"ok": {"type": "boolean"}, "note": {"type": "string", "minLength": 2, "maxLength": 5}},
        }
    )
    assert schema.fields == (BooleanField("ok"), StringField("note", 2, 5))


@pytest.mark.parametrize(
    "schema, message",
    [
        ([], "JSON Schema object"),
        ({"type": "array"}, '"type": "object"'),
        ({"type": "object", "properties": {}}, "non-empty"),
        ({"type": "object", "properties": {"a": {"type": "number"}}}, "minimum and maximum"),
        ({"type": "object", "properties": {"a": {"type": "number", "minimum": 2, "maximum": 1}}}, "above maximum"),
        ({"type": "object", "properties": {"a": {"type": "integer", "minimum": 0.2, "maximum": 0.8}}}, "no integer"),
        ({"type": "object", "properties": {"a": {"type": "object"}}}, "not supported"),
        ({"type": "object", "properties": {"a": {"type": "string", "pattern": "x+"}}}, "pattern"),
        ({"type": "object", "properties": {"a": {"enum": [1, 2]}}}, "array of strings"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}, "required"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "oneOf": []}, "oneOf"),
        ({"type": "object", "properties": {"a": {"type": "string", "maxLength": -1}}}, "maxLength"),
    ],
)
def test_schemas_outside_the_subset_are_refused(schema, message):
    with pytest.raises(SchemaError, match=message):
        compile_schema(schema)


def test_validation_reports_what_is_wrong():
    schema = compile_schema(decision_schema(["BTCUSDT"], 5))
    good = {
        "action": "BUY",
        "symbol": "BTCUSDT",
        "size_fraction": 0.5,
        "leverage": 5,
        "confidence": 1,
        "rationale": "x",
    }
    assert schema.validate(good) == []
    bad = {**good, "symbol": "DOGEUSDT", "leverage": 6, "size_fraction": True, "extra": 1}
    del bad["rationale"]
    problems = schema.validate(bad)
    assert any(p.startswith("symbol:") for p in problems)
    assert any(p.startswith("leverage:") for p in problems)
    assert any(p.startswith("size_fraction:") for p in problems)
    assert "rationale: missing" in problems and "unexpected property 'extra'" in problems
