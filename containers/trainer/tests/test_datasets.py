import hashlib
import json
import math

import numpy as np
import pytest

from sapphire_trainer.datasets import (
    DataError,
    data_files,
    read_chat_records,
    read_dataset_manifest,
    read_series,
    verify_checksums,
)


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def chat(*messages, **extra):
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in messages], **extra})


def test_chat_records_keep_the_prompt_and_the_answer(tmp_path):
    file = write(tmp_path / "sft.jsonl", [chat(("system", "s"), ("user", "u"), ("assistant", '{"action":"HOLD"}')), ""])
    [record] = read_chat_records(str(file))
    assert record.system_prompt == "s"
    assert [m["role"] for m in record.prompt_messages] == ["system", "user"]
    assert record.answer == '{"action":"HOLD"}'


def test_the_exports_sft_rows_are_read_and_their_meta_ignored(tmp_path):
    file = write(
        tmp_path / "train.jsonl", [chat(("user", "prompt"), ("assistant", "{}"), meta={"t": "2026-01-01T00:00:00Z"})]
    )
    [record] = read_chat_records(str(file))
    assert record.system_prompt is None and record.answer == "{}"


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not JSON"),
        (json.dumps({"prompt": "x"}), "expected"),
        (chat(("user", "u")), "ends with the assistant"),
        (chat(("user", "u"), ("robot", "x")), "role"),
        (chat(("user", "u"), ("assistant", "  ")), "empty"),
    ],
)
def test_a_bad_chat_record_names_its_file_and_line(tmp_path, line, message):
    file = write(tmp_path / "sft.jsonl", [chat(("user", "u"), ("assistant", "a")), line])
    with pytest.raises(DataError, match=rf"sft.jsonl:2: .*{message}"):
        read_chat_records(str(file))


def test_log_returns_are_read_as_they_are(tmp_path):
    record = {"start": "2023-03-10T00:01:00", "target": [0.001, -0.002], "item_id": "BTCUSDT"}
    [series] = read_series(str(write(tmp_path / "s.jsonl", [json.dumps(record)])), "log_return", "1min")
    assert series.item_id == "BTCUSDT"
    assert series.log_returns.tolist() == [0.001, -0.002]
    assert str(series.start) == "2023-03-10 00:01:00"


def test_prices_and_simple_returns_become_log_returns(tmp_path):
    prices = {"start": "2023-03-10T00:00:00Z", "target": [100.0, 110.0, 99.0]}
    [series] = read_series(str(write(tmp_path / "p.jsonl", [json.dumps(prices)])), "price", "1min")
    assert series.log_returns == pytest.approx([math.log(1.1), math.log(0.9)])
    assert str(series.start) == "2023-03-10 00:01:00", "the first return is the second price's minute"
    simple = {"start": "2023-03-10T00:01:00", "target": [0.1, -0.1]}
    [series] = read_series(str(write(tmp_path / "r.jsonl", [json.dumps(simple)])), "simple_return", "1min")
    assert series.log_returns == pytest.approx(np.log1p([0.1, -0.1]))


@pytest.mark.parametrize(
    "record, target, message",
    [
        ({"start": "2023-03-10", "target": [1.0]}, "price", "at least 2"),
        ({"start": "2023-03-10", "target": []}, "log_return", "at least 1"),
        ({"start": "2023-03-10", "target": [1.0, -0.01]}, "price", r"target\[1\] must be a price > 0.*--target"),
        ({"start": "2023-03-10", "target": [0.1, -1.0]}, "simple_return", r"target\[1\]"),
        ({"start": "2023-03-10", "target": [1.0, "2"]}, "log_return", r"target\[1\]"),
        ({"start": "2023-03-10", "target": [1.0, None]}, "log_return", r"target\[1\]"),
        ({"start": "not a time", "target": [1.0, 2.0]}, "price", "start"),
        ({"target": [1.0, 2.0]}, "price", "start"),
    ],
)
def test_a_bad_series_names_its_file_and_line(tmp_path, record, target, message):
    file = write(tmp_path / "s.jsonl", [json.dumps(record)])
    with pytest.raises(DataError, match=rf"s.jsonl:1: .*{message}"):
        read_series(str(file), target, "1min")


def test_the_exports_manifest_gives_target_frequency_horizon_and_checksums(tmp_path):
    data = write(tmp_path / "train.jsonl", [json.dumps({"start": "2023-03-10T00:01:00", "target": [0.001]})])
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    manifest = {
        "kind": "gluonts-series",
        "label": {"horizonMinutes": 15, "freq": "1min", "target": "log_return"},
        "files": [{"name": "train.jsonl", "rows": 1, "sha256": digest}],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    read = read_dataset_manifest(str(data))
    assert read is not None
    assert (read.kind, read.target, read.freq, read.horizon) == ("gluonts-series", "log_return", "1min", 15)
    verify_checksums(str(data), read)
    data.write_text(data.read_text() + "\n")
    with pytest.raises(DataError, match="sha256 differs"):
        verify_checksums(str(data), read)


def test_data_without_a_manifest_has_none(tmp_path):
    assert read_dataset_manifest(str(write(tmp_path / "x.jsonl", []))) is None


def test_a_location_is_a_file_a_directory_or_a_glob(tmp_path):
    for name in ("b.jsonl", "a.jsonl", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in data_files(str(tmp_path))] == ["a.jsonl", "b.jsonl"]
    assert [p.name for p in data_files(str(tmp_path / "*.txt"))] == ["notes.txt"]
    with pytest.raises(DataError, match="no such file"):
        data_files(str(tmp_path / "missing.jsonl"))
