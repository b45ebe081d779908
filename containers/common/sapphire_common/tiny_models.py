"""A tiny random causal LM and a byte-level BPE tokenizer, built locally (no hub download).

For tests and test models only: GPT-2 architecture, 2 layers, 64 dimensions, a 4096-token context
(Sapphire's prompts are long), and a tokenizer trained in a second on Sapphire-shaped text.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from .chat_format import FALLBACK_CHAT_TEMPLATE
from .synthetic import decision_prompt, sft_records

EOS = "<|endoftext|>"
PAD = "<|pad|>"


def _corpus() -> Iterable[str]:
    for record in sft_records(40, seed=123):
        for message in record["messages"]:
            yield message["content"]
    yield decision_prompt(["BTCUSDT", "ETHUSDT", "SOLUSDT"], [20000.0 + i for i in range(30)], 25)
    yield json.dumps(
        {
            "action": "HOLD",
            "symbol": "SOLUSDT",
            "size_fraction": 0,
            "leverage": 1,
            "confidence": 0.5,
            "rationale": "flat",
        }
    )
    yield "<|system|>\n<|user|>\n<|assistant|>\n 0123456789.,:;-+_!?()[]{}\"'"
    yield "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def build_tokenizer(vocab_size: int = 600):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=PAD, bos_token=EOS)
    fast.chat_template = FALLBACK_CHAT_TEMPLATE
    return fast


def build_tiny_causal_lm(directory: Path, *, seed: int = 0, vocab_size: int = 600) -> Path:
    """Saves a random GPT-2 (2 layers, 64 dims) and its tokenizer, loadable with from_pretrained."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = build_tokenizer(vocab_size)
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=4096,
        n_embd=64,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def make_test_model_cli(prog: str, description: str | None, make: Callable[..., Path], argv: list[str] | None = None) -> int:
    """The command line of a package's make_test_model: a model directory, an optional seed."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    make(args.model_dir, seed=args.seed)
    print(args.model_dir)
    return 0
