"""The base model's own tokenizer and chat template, for preparing rows in the app process.

A GGUF base is tokenized by llama.cpp through its model host (the tokenizer that will run the
adapter); a Hugging Face folder by its tokenizer.json with the ``tokenizers`` library and its
template from tokenizer_config.json. Neither needs torch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..core.chat_template import render_chat
from ..core.messages import ChatMessage
from ..core.tuning_errors import UnsupportedBaseError


class HostTokenizer:
    """llama.cpp's tokenizer and the GGUF's template, through a started ModelHost."""

    def __init__(self, host):
        self.host = host
        self.bos_text = host.metadata.special_tokens.bos_text
        self.adds_bos = bool(host.tokenize("", add_special=True, parse_special=True))

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool) -> str:
        return self.host.render(list(messages), add_generation_prompt=add_generation_prompt)

    def tokenize(self, text: str, add_special: bool) -> list[int]:
        # A template that writes BOS itself would get a second one from the tokenizer.
        if add_special and self.adds_bos and self.bos_text and text.startswith(self.bos_text):
            text = text[len(self.bos_text):]
        return self.host.tokenize(text, add_special=add_special, parse_special=True)


class FolderTokenizer:
    """tokenizer.json + the chat template of a Hugging Face folder."""

    def __init__(self, folder: str | Path):
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config = _json(folder / "tokenizer_config.json")
        self.template = _template(folder, config)
        self.bos_text = _token_text(config.get("bos_token"))
        self.eos_text = _token_text(config.get("eos_token"))

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool) -> str:
        return render_chat(self.template, messages, bos_token=self.bos_text,
                           eos_token=self.eos_text, add_generation_prompt=add_generation_prompt)

    def tokenize(self, text: str, add_special: bool) -> list[int]:
        ids = self.tokenizer.encode(text, add_special_tokens=add_special).ids
        bos = self.tokenizer.token_to_id(self.bos_text) if self.bos_text else None
        if add_special and bos is not None and ids[:2] == [bos, bos]:
            ids = ids[1:]  # the template wrote BOS and the post-processor added another
        return ids


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _template(folder: Path, config: dict) -> str | None:
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text()
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: take the default one
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    if template is not None and not isinstance(template, str):
        raise UnsupportedBaseError(f"The chat template in {folder} is not text.")
    return template


def _token_text(token) -> str:
    if isinstance(token, dict):
        return str(token.get("content", ""))
    return token or ""
