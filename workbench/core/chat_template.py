"""Render a model's own chat template (a Jinja2 string from its GGUF file), sandboxed.

Templates come from downloaded files, so they are untrusted: jinja2's immutable sandbox keeps
them from touching Python objects. The helpers mirror what Hugging Face's tokenizer exposes
to templates (``raise_exception``, ``strftime_now``) so real-world templates render unchanged.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from functools import lru_cache

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import WorkbenchError
from .messages import ChatMessage

# Used when a model carries no template of its own: ChatML, the most common layout.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class ChatTemplateError(WorkbenchError):
    pass


def _raise_exception(message: str):
    raise ChatTemplateError(f"The chat template refused the messages: {message}")


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


@lru_cache(maxsize=32)
def _compile(source: str):
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(source)
    except TemplateError as error:
        raise ChatTemplateError(f"The chat template is not valid Jinja2: {error}") from None


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
    except Exception as error:  # a template bug must never take the caller down
        raise ChatTemplateError(f"The chat template failed to render: {error}") from None
