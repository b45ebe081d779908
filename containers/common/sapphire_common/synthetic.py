"""Small synthetic data for tests and test models: minute prices, return series in the export's
format, and SFT chat records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def random_walk_prices(
    num_series: int,
    length: int,
    *,
    seed: int = 0,
    start_price: float = 20_000.0,
    volatility: float = 1e-3,
) -> list[np.ndarray]:
    """Geometric random walks with a small per-series drift: minute closes of a liquid market."""
    rng = np.random.default_rng(seed)
    series = []
    for _ in range(num_series):
        drift = rng.normal(0.0, volatility / 4)
        returns = rng.normal(drift, volatility, size=length - 1)
        level = start_price * float(np.exp(rng.normal(0.0, 0.2)))
        series.append(level * np.exp(np.concatenate([[0.0], np.cumsum(returns)])))
    return series


def series_records(
    prices: Sequence[np.ndarray], *, start: str = "2023-03-10T00:00:00Z", freq: str = "1min"
) -> list[dict[str, Any]]:
    """GluonTS-style JSONL records {"start", "target", "item_id"}, one per series."""
    first = pd.Timestamp(start)
    return [
        {
            "start": (first + pd.tseries.frequencies.to_offset(freq) * (i * 7)).isoformat(),
            "target": [round(float(p), 6) for p in series],
            "item_id": f"SYN{i}USDT",
        }
        for i, series in enumerate(prices)
    ]


def decision_prompt(symbols: Sequence[str], closes: Sequence[float], max_leverage: int) -> str:
    """A prompt shaped like llmPrompt in shared/inference/models.ts."""
    market = "\n".join(f"{s}: closes {', '.join(f'{c:.2f}' for c in closes)}; volumes 1.000, 2.000" for s in symbols)
    return "\n".join(
        [
            "You are Test Agent, a momentum trader: you follow established trends and avoid fighting them, "
            "trading USDⓈ-M perpetual futures.",
            f"Free margin: 1000.000000 USD. Maximum leverage: {max_leverage}. Open positions: none.",
            f"Last 30 one-minute candles, oldest first:\n{market}",
            "Answer with exactly one JSON object and nothing else, no prose, no code fence:",
            '{"action": "BUY" | "SELL" | "HOLD", "symbol": one of '
            + json.dumps(list(symbols))
            + ', "size_fraction": share of free margin between 0 and 1, "leverage": integer from 1 to '
            + str(max_leverage)
            + ', "confidence": number between 0 and 1, "rationale": one sentence}',
        ]
    )


def sft_records(count: int, *, seed: int = 0, symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT")) -> list[dict[str, Any]]:
    """Chat SFT records whose answer follows the trend of the prompt's closes."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(count):
        closes = 20_000 * np.exp(np.cumsum(rng.normal(rng.choice([-1, 1]) * 5e-4, 1e-3, size=30)))
        action = "BUY" if closes[-1] > closes[0] else "SELL"
        symbol = str(rng.choice(list(symbols)))
        decision = {
            "action": action,
            "symbol": symbol,
            "size_fraction": 0.25,
            "leverage": 3,
            "confidence": 0.6,
            "rationale": f"{symbol} trends {'up' if action == 'BUY' else 'down'} over the last 30 minutes.",
        }
        records.append(
            {
                "messages": [
                    {"role": "system", "content": "You are a disciplined crypto futures trader."},
                    {"role": "user", "content": decision_prompt(symbols, closes.tolist(), 10)},
                    {"role": "assistant", "content": json.dumps(decision)},
                ]
            }
        )
    return records


def write_jsonl(path: Any, records: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def return_records(prices: Sequence[np.ndarray], *, start: str = "2023-03-10T00:01:00") -> list[dict[str, Any]]:
    """Log-return records as the export writes them (shared/domain/training-dataset.ts):
    8 decimals, start = the first return's minute without an offset, item_id = the symbol."""
    first = pd.Timestamp(start)
    return [
        {
            "start": (first + pd.Timedelta(minutes=i * 7)).strftime("%Y-%m-%dT%H:%M:%S"),
            "target": [round(float(r), 8) for r in np.diff(np.log(series))],
            "item_id": f"SYN{i}USDT",
        }
        for i, series in enumerate(prices)
    ]


def write_forecast_export(
    folder: Path, train: Sequence[np.ndarray], validation: Sequence[np.ndarray], *, horizon: int = 15
) -> Path:
    """train.jsonl, validation.jsonl and manifest.json in the export's layout and format."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, prices in (("train.jsonl", train), ("validation.jsonl", validation)):
        write_jsonl(folder / name, return_records(prices))
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        files.append({"name": name, "rows": len(prices), "sha256": digest})
    manifest = {
        "schemaVersion": 1,
        "kind": "gluonts-series",
        "agentId": "lagllama-degen",
        "label": {"horizonMinutes": horizon, "freq": "1min", "target": "log_return", "decimals": 8},
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder
