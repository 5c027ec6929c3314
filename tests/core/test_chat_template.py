import pytest

from workbench.core.chat_template import ChatTemplateError, render_chat
from workbench.core.messages import ChatMessage

MESSAGES = [ChatMessage("system", "S"), ChatMessage("user", "U")]


def test_default_is_chatml():
    assert render_chat(None, MESSAGES) == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    )


def test_bos_and_helpers_are_available():
    template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{% endfor %}"
    assert render_chat(template, MESSAGES, bos_token="<s>") == "<s>[system][user]"


def test_template_can_refuse_with_raise_exception():
    template = "{% if messages[0].role == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
    with pytest.raises(ChatTemplateError, match="no system role"):
        render_chat(template, MESSAGES)


def test_sandbox_blocks_python_internals():
    template = "{{ messages.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(ChatTemplateError):
        render_chat(template, MESSAGES)


def test_broken_template_is_a_clear_error():
    with pytest.raises(ChatTemplateError, match="not valid Jinja2"):
        render_chat("{% for %}", MESSAGES)
