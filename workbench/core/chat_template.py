"""Render a model's chat template (a Jinja2 string), sandboxed, and choose which one to use.

Templates come from downloaded files, so they are untrusted: the bounded sandbox
(template_sandbox.py, the one user templates render in too) keeps them from touching Python
objects and from asking for more memory or time than a prompt needs. The helpers mirror what
Hugging Face's tokenizer exposes to templates (``raise_exception``, ``strftime_now``) so
real-world templates render unchanged.

A file without a template gets llama.cpp's built-in one for its architecture where llama.cpp
has one (``BUILTIN_TEMPLATES`` are Jinja equivalents of a few of llama.cpp's named templates,
checked against ``llama_chat_apply_template`` in the tests), else ChatML, as llama-server does.
The user may pick a named template or paste their own per model.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import TemplateError, TemplateSyntaxError

from .base_model import RAW_TEMPLATE as RAW_NAME
from .errors import WorkbenchError, sentence
from .messages import ChatMessage
from .template_limits import TemplateLimitError, check_text
from .template_sandbox import BoundedSandbox

# Used when a model carries no template of its own: ChatML, the most common layout.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


# llama.cpp's named templates, as Jinja (llama-chat.cpp): the same text, byte for byte.
GEMMA_TEMPLATE = (
    "{% set ns = namespace(system='') %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}"
    "{% set ns.system = ns.system + (message['content'] | trim) %}"
    "{% else %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' }}"
    # Gemma has no system turn: llama.cpp puts the system text atop the next user turn.
    "{% if ns.system and role != 'model' %}{{ ns.system + '\n\n' }}"
    "{% set ns.system = '' %}{% endif %}"
    "{{ (message['content'] | trim) + '<end_of_turn>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
LLAMA3_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    " + (message['content'] | trim) + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)
PHI3_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)
BUILTIN_TEMPLATES = {"chatml": CHATML_TEMPLATE, "gemma": GEMMA_TEMPLATE,
                     "llama3": LLAMA3_TEMPLATE, "phi3": PHI3_TEMPLATE}
# Raw completion (no chat markup): the messages' texts as written, one after another, for a
# base model to continue (core/base_model.py). Not one of llama.cpp's; chosen, never automatic.
RAW_TEMPLATE = (
    "{% for message in messages %}{{ message['content'] }}"
    "{% if not loop.last %}{{ '\n\n' }}{% endif %}{% endfor %}"
)
# What a user may choose for a file or a variant (--chat-template NAME).
CHOOSABLE_TEMPLATES = {**BUILTIN_TEMPLATES, RAW_NAME: RAW_TEMPLATE}
# GGUF general.architecture -> llama.cpp's template for files of it that carry none. Only
# unambiguous ones: a "llama" file may be Llama 2, Llama 3 or a fine-tune of either.
ARCHITECTURE_TEMPLATES = {"gemma": "gemma", "gemma2": "gemma", "gemma3": "gemma",
                          "qwen2": "chatml", "qwen3": "chatml", "phi3": "phi3"}
FALLBACK_TEMPLATE = "chatml"

SOURCE_FILE, SOURCE_USER = "file", "user"
RAW_SOURCE = f"built-in {RAW_NAME}"


class ChatTemplateError(WorkbenchError):
    pass


@dataclass(frozen=True)
class TemplateChoice:
    """The user's template for one model file: a built-in by name, or their own Jinja."""

    name: str | None = None
    jinja: str | None = None

    def __post_init__(self):
        if (self.name is None) == (self.jinja is None):
            raise ChatTemplateError("A template choice is either a built-in name or a Jinja "
                                    "template, not both nor neither.")

    def check(self) -> None:
        """Raise ChatTemplateError naming what is wrong (an unknown name, a syntax error)."""
        if self.name is not None:
            builtin_template(self.name)
        else:
            check_template(self.jinja or "")

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name} if self.name is not None else {"jinja": self.jinja or ""}

    @classmethod
    def from_dict(cls, data: dict) -> TemplateChoice:
        if isinstance(data.get("name"), str):
            return cls(name=data["name"])
        if isinstance(data.get("jinja"), str):
            return cls(jinja=data["jinja"])
        raise ChatTemplateError(f"Not a template choice: {data!r}.")


def builtin_template(name: str) -> str:
    try:
        return CHOOSABLE_TEMPLATES[name]
    except KeyError:
        raise ChatTemplateError(f"There is no built-in chat template named '{name}'; the "
                                f"built-in ones are {', '.join(CHOOSABLE_TEMPLATES)}.") from None


def resolve_template(file_template: str | None, architecture: str,
                     choice: TemplateChoice | None = None) -> tuple[str, str]:
    """The template a model is rendered with, and where it came from: ``user``, ``file`` or
    ``built-in NAME``. The user's choice wins, then the file's own, then llama.cpp's built-in
    for the architecture, then ChatML."""
    if choice is not None and choice.jinja is not None:
        check_template(choice.jinja)
        return choice.jinja, SOURCE_USER
    if choice is not None and choice.name is not None:
        return builtin_template(choice.name), f"built-in {choice.name}"
    if file_template:
        return file_template, SOURCE_FILE
    name = ARCHITECTURE_TEMPLATES.get(architecture, FALLBACK_TEMPLATE)
    return BUILTIN_TEMPLATES[name], f"built-in {name}"


def describe_source(source: str, file_has_template: bool, architecture: str = "") -> str:
    """Why this template, for the model bar and ``workbench info``."""
    if source == SOURCE_USER:
        return "yours (pasted for this model)"
    if source == RAW_SOURCE:
        return "raw completion — the prompt's text as written, no chat markup"
    if source == SOURCE_FILE:
        return "the file's own"
    if file_has_template:
        return f"{source} — chosen instead of the file's own"
    name = source.removeprefix("built-in ")
    if ARCHITECTURE_TEMPLATES.get(architecture) == name:
        return f"{source} — the file has none (llama.cpp's for {architecture})"
    return f"{source} — the file has none and llama.cpp knows none for {architecture or 'it'}"


def template_label(source: str, file_has_template: bool) -> str:
    """The short form for the model bar: ``yours``, ``the file's``, ``built-in gemma — the
    file has none``."""
    if source == SOURCE_USER:
        return "yours"
    if source == RAW_SOURCE:
        return "raw completion"
    if source == SOURCE_FILE:
        return "the file's"
    return f"{source} — chosen" if file_has_template else f"{source} — the file has none"


def check_template(source: str) -> None:
    """Raise ChatTemplateError (with the line) unless ``source`` compiles."""
    if not source.strip():
        raise ChatTemplateError("The chat template is empty.")
    _compile(source)


def _raise_exception(message: str):
    raise ChatTemplateError(sentence(f"The chat template refused the messages: {message}"))


def _strftime_now(fmt: str) -> str:
    # A directive's width pads it ('%9999999Y'): refused like any other too long string.
    widths = sum(int(digits) for digits in re.findall(r"%[-_0^#]*(\d{1,9})", str(fmt)))
    check_text("'strftime_now()'", len(str(fmt)) + widths, exact=False)
    return datetime.datetime.now().strftime(fmt)


_ENV = BoundedSandbox(trim_blocks=True, lstrip_blocks=True,
                      extensions=["jinja2.ext.loopcontrols"])
_ENV.globals["raise_exception"] = _raise_exception
_ENV.globals["strftime_now"] = _strftime_now


@lru_cache(maxsize=32)
def _compile(source: str):
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as error:
        raise ChatTemplateError(sentence(f"The chat template is not valid Jinja2: line "
                                         f"{error.lineno}: {error.message}")) from None
    except TemplateError as error:
        raise ChatTemplateError(sentence(f"The chat template is not valid Jinja2: {error}")) \
            from None


def render_chat(
    template: str | None,
    messages: Sequence[ChatMessage],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """The exact text the model receives for ``messages`` (special tokens as text)."""
    compiled = _compile(template or CHATML_TEMPLATE)
    try:
        return compiled.render(
            messages=[m.to_dict() for m in messages],
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
        )
    except ChatTemplateError:
        raise
    except TemplateLimitError as error:
        raise ChatTemplateError(sentence(f"The chat template was refused: {error}")) from None
    except Exception as error:  # a template bug must never take the caller down
        raise ChatTemplateError(sentence(f"The chat template failed to render: {error}")) \
            from None
