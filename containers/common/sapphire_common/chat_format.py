"""How a conversation becomes prompt tokens, the same way in training and in serving.

The trainer renders each SFT record's messages before the assistant answer with the tokenizer's
chat template and a generation prompt, and saves that tokenizer (template included) with the
adapter. The server renders ``[system prompt of the training data, user = the request's prompt]``
with the saved tokenizer. Both encode the rendered text without adding special tokens: a chat
template that wants a BOS token writes it itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: For tokenizers that come without a chat template (small local models, base models).
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

ROLES = ("system", "user", "assistant")
Message = Mapping[str, str]


def ensure_chat_template(tokenizer: Any) -> None:
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE


def render_prompt(tokenizer: Any, messages: Sequence[Message]) -> str:
    """The text the model continues: the messages and the assistant's turn opening."""
    return str(
        tokenizer.apply_chat_template(
            [{"role": m["role"], "content": m["content"]} for m in messages],
            tokenize=False,
            add_generation_prompt=True,
        )
    )


def encode_prompt(tokenizer: Any, messages: Sequence[Message]) -> list[int]:
    return list(tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"])


def encode_answer(tokenizer: Any, answer: str) -> list[int]:
    """The assistant's answer as trained: its text, then the end-of-sequence token."""
    ids = list(tokenizer(answer, add_special_tokens=False)["input_ids"])
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    return ids


def serving_messages(prompt: str, system_prompt: str | None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": prompt})
    return messages
