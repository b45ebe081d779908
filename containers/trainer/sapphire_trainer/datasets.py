"""Training data: JSONL files of chat SFT records or of GluonTS series, checked line by line.

Series records are ``{"start", "target", "item_id"}`` whose target holds prices, log-returns or
simple returns (--target; by default what the export's manifest.json beside the data says, else
prices). The export of shared/domain/training-dataset.ts writes log-returns and a manifest whose
sha256 of each file is checked here.

A data location is a file, a directory (its *.jsonl files, in name order) or a glob pattern
(what Vertex puts in AIP_TRAINING_DATA_URI for managed datasets), gs:// or local.
A malformed line stops the job with its file and line number: a model trained on data nobody
checked is worse than no model.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .vertex_env import local_path

ROLES = ("system", "user", "assistant")


class DataError(Exception):
    """A data file or record that is not what the job was told to expect."""


@dataclass(frozen=True)
class ChatRecord:
    messages: tuple[dict[str, str], ...]

    @property
    def prompt_messages(self) -> tuple[dict[str, str], ...]:
        return self.messages[:-1]

    @property
    def answer(self) -> str:
        return self.messages[-1]["content"]

    @property
    def system_prompt(self) -> str | None:
        return self.messages[0]["content"] if self.messages[0]["role"] == "system" else None


#: What a series record's target holds: prices, or per-step log or simple returns.
TARGETS = ("price", "log_return", "simple_return")


@dataclass(frozen=True)
class ReturnSeries:
    """A series as the forecaster learns it: log-returns, the first one in period ``start``."""

    item_id: str
    start: pd.Timestamp
    log_returns: np.ndarray


@dataclass(frozen=True)
class DatasetManifest:
    """What the export (shared/domain/training-dataset.ts) wrote beside the data: manifest.json."""

    kind: str | None
    target: str | None
    freq: str | None
    horizon: int | None
    sha256: dict[str, str]


def data_files(uri: str) -> list[Path]:
    path = local_path(uri)
    if any(ch in str(path) for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
    elif path.is_dir():
        files = sorted(p for p in path.glob("*.jsonl") if p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{uri}: no such file or directory ({path})")
    if not files:
        raise DataError(f"{uri}: no JSONL files there")
    return files


def read_jsonl(uri: str) -> Iterator[tuple[str, Any]]:
    """(file:line, parsed JSON) for every non-blank line."""
    for file in data_files(uri):
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{file}:{number}"
                try:
                    yield where, json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{where}: not JSON ({error})") from None


def parse_chat_record(where: str, raw: Any) -> ChatRecord:
    if not isinstance(raw, dict) or not isinstance(raw.get("messages"), list):
        raise DataError(f'{where}: expected {{"messages": [{{"role", "content"}}, ...]}}')
    messages = []
    for i, message in enumerate(raw["messages"]):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str)
        ):
            raise DataError(f"{where}: messages[{i}] needs a role in {ROLES} and a string content")
        messages.append({"role": message["role"], "content": message["content"]})
    if len(messages) < 2 or messages[-1]["role"] != "assistant":
        raise DataError(f"{where}: a record needs at least one prompt message and ends with the assistant's answer")
    if not messages[-1]["content"].strip():
        raise DataError(f"{where}: the assistant's answer is empty")
    return ChatRecord(tuple(messages))


def read_chat_records(uri: str) -> list[ChatRecord]:
    records = [parse_chat_record(where, raw) for where, raw in read_jsonl(uri)]
    if not records:
        raise DataError(f"{uri}: no records")
    return records


def parse_series(where: str, raw: Any, index: int, target: str, freq: str) -> ReturnSeries:
    if not isinstance(raw, dict):
        raise DataError(f'{where}: expected {{"start", "target", "item_id"}}')
    values = raw.get("target")
    minimum = 2 if target == "price" else 1
    if not isinstance(values, list) or len(values) < minimum:
        raise DataError(f"{where}: target must be an array of at least {minimum} values")
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DataError(f"{where}: target[{i}] must be a finite number, got {value!r}")
        if target == "price" and value <= 0:
            raise DataError(f"{where}: target[{i}] must be a price > 0, got {value!r} (returns? pass --target)")
        if target == "simple_return" and value <= -1:
            raise DataError(f"{where}: target[{i}] is a simple return of {value!r}: at most a 100% loss")
    try:
        start = pd.Timestamp(raw.get("start"))
    except (TypeError, ValueError) as error:
        raise DataError(f"{where}: start must be an ISO 8601 time ({error})") from None
    if pd.isna(start):
        raise DataError(f"{where}: start is missing")
    if start.tzinfo is not None:
        start = start.tz_convert("UTC").tz_localize(None)
    array = np.asarray(values, dtype=np.float64)
    if target == "price":
        # r_t = log(p_t / p_{t-1}) belongs to p_t's period: the first return is the second price's.
        returns, start = np.diff(np.log(array)), start + pd.tseries.frequencies.to_offset(freq)
    elif target == "simple_return":
        returns = np.log1p(array)
    else:
        returns = array
    item_id = raw.get("item_id")
    return ReturnSeries(str(item_id) if item_id is not None else f"series-{index}", start, returns)


def read_series(uri: str, target: str, freq: str) -> list[ReturnSeries]:
    if target not in TARGETS:
        raise DataError(f"unknown target {target!r}: one of {TARGETS}")
    series = [parse_series(where, raw, i, target, freq) for i, (where, raw) in enumerate(read_jsonl(uri))]
    if not series:
        raise DataError(f"{uri}: no series")
    return series


def read_dataset_manifest(uri: str) -> DatasetManifest | None:
    """The export's manifest.json in the folder of a data file, when there is one."""
    path = local_path(uri)
    folder = path if path.is_dir() else path.parent
    file = folder / "manifest.json"
    if not file.is_file():
        return None
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataError(f"{file}: not JSON ({error})") from None
    label = raw.get("label") if isinstance(raw, dict) else None
    label = label if isinstance(label, dict) else {}
    files = raw.get("files") if isinstance(raw, dict) else None
    sha = {
        str(f["name"]): str(f["sha256"])
        for f in (files if isinstance(files, list) else [])
        if isinstance(f, dict) and "name" in f and "sha256" in f
    }
    horizon = label.get("horizonMinutes")
    return DatasetManifest(
        kind=raw.get("kind") if isinstance(raw, dict) else None,
        target=label.get("target"),
        freq=label.get("freq"),
        horizon=horizon if isinstance(horizon, int) and not isinstance(horizon, bool) else None,
        sha256=sha,
    )


def verify_checksums(uri: str, manifest: DatasetManifest) -> None:
    """Refuses a data file whose sha256 differs from the one the export recorded."""
    for file in data_files(uri):
        expected = manifest.sha256.get(file.name)
        if expected is not None and hashlib.sha256(file.read_bytes()).hexdigest() != expected:
            raise DataError(f"{file}: its sha256 differs from manifest.json's: the data changed after the export")
