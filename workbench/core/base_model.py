"""Does a model file look like a base model (a text continuer, not a chat assistant)?

A base model has been trained to continue text; asked through a chat template it answers with
noise (Gemma 3 270M's pretrained file: ``--raw`` completes "The capital of France is" with
" Paris", chat gives rubbish). Its GGUF carries no ``tokenizer.chat_template``, and its names
(``general.name``, ``basename``, ``finetune``) say nothing of instructions; an instruction-tuned
file says "instruct", "chat" or "it" somewhere (SmolLM2-135M-Instruct, gemma-3-270m-it).
Such a model is best used in raw completion: the prompt's text as it is, no chat markup
(the built-in ``raw`` template, ``--chat-template raw``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

RAW_TEMPLATE = "raw"  # the built-in template that leaves the text as written (chat_template.py)
# Words of a model's names that mark an instruction-tuned (chat) model.
INSTRUCTION_WORDS = ("instruct", "chat", "it")
NOTICE = "This looks like a base model — use raw completion"
_WORD = re.compile(r"[a-z0-9]+")


def says_instructions(name: str) -> bool:
    """``gemma-3-270m-it``, ``SmolLM2 135M Instruct``, ``Llama-2-7b-chat``: yes; ``Gemma 3 270m``,
    ``gemma-3``: no. Whole words only: "it" inside "Bitnet" or "Split" says nothing."""
    words = _WORD.findall(name.lower())
    return any(word == "it" or word.startswith(("instruct", "chat")) for word in words)


def looks_like_base_model(has_chat_template: bool, names: Iterable[str]) -> bool:
    """No chat template in the file, and no name of it says instructions."""
    return not has_chat_template and not any(says_instructions(n) for n in names if n)


def why_base(name: str) -> str:
    """The tooltip: what was seen, what happens in chat, what to do."""
    return (f"{name} carries no chat template and its name says nothing of instructions "
            "(instruct, chat, it): it looks like a base model, trained to continue text. "
            "Asked through a chat template it tends to answer with noise; raw completion "
            "sends the prompt's text as written, for the model to continue.")


def file_looks_base(info) -> bool:
    """The judgement on a GGUF header (library.gguf_metadata.GGUFInfo)."""
    return looks_like_base_model(info.has_chat_template, (info.name, info.basename,
                                                          info.finetune))


def loaded_looks_base(meta) -> bool:
    """The same judgement on a loaded model's ModelMetadata (its ``general.*`` keys)."""
    names = (str(meta.extra.get(f"general.{key}", "") or "")
             for key in ("name", "basename", "finetune"))
    return looks_like_base_model(meta.file_has_chat_template, [meta.name, *names])
