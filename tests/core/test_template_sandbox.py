"""Hostile templates are refused, saying what they asked for and the limit; real ones render
as they did in jinja2's plain sandbox.

Each hostile template once ran for minutes or for ever (``{{ 9**(9**9) }}``) or took gigabytes
(``{{ 'x' * 300000000 }}``). The tests assert the refusal, not a duration; the thread timeout
turns a regression into a failure (with the stacks) instead of a hung run.
"""

from __future__ import annotations

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workbench.core.chat_template import (
    BUILTIN_TEMPLATES,
    ChatTemplateError,
    check_template,
    render_chat,
)
from workbench.core.composition import CompositionError, render_user_message
from workbench.core.errors import sentence
from workbench.core.messages import ChatMessage
from workbench.core.template_sandbox import BoundedSandbox

pytestmark = pytest.mark.timeout(120, method="thread")

MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi"),
            ChatMessage("assistant", "Hello!"), ChatMessage("user", "What is a prompt?")]

MORE = "more than 10,000,000 characters, the limit."  # an estimate that stopped counting
# (template, what the refusal says after "…was refused: ")
HOSTILE = [
    ("{{ 'x' * 300000000 }}",
     "'*' would make a string of 300,000,000 characters (the limit is 10,000,000)."),
    ("{{ 10**(10**7) }}",
     "'**' would make an integer of about 33,219,281 bits (the limit is 4,096)."),
    ("{{ 9**(9**9) }}",
     "'**' would make an integer of about 1,228,093,895 bits (the limit is 4,096)."),
    ("{{ 'x'.ljust(10**9) }}",
     "'ljust()' would make a string of 1,000,000,000 characters (the limit is 10,000,000)."),
    ("{{ 'x'.zfill(10**9) }}",
     "'zfill()' would make a string of 1,000,000,000 characters (the limit is 10,000,000)."),
    ("{{ 'x'|center(10**9) }}", "the 'center' filter would make a string of 1,000,000,000 "
                                "characters (the limit is 10,000,000)."),
    ("{{ ('x'|safe).center(10**9) }}",  # Markup's methods are Python ones, not str's
     "'center()' would make a string of 1,000,000,000 characters (the limit is 10,000,000)."),
    ("{{ 'x'|indent(10**9) }}", "the 'indent' filter would make a string of 1,000,000,001 "
                                "characters (the limit is 10,000,000)."),
    ("{{ '%999999999s'|format('x') }}", f"the 'format' filter would make a string of {MORE}"),
    ("{{ '%*d' % (999999999, 1) }}", f"'%' would make a string of {MORE}"),
    ("{{ '{:>999999999}'.format(1) }}", f"'format()' would make a string of {MORE}"),
    ("{{ ('x' * 1000000).join(range(100000)|map('string')) }}",
     f"'join()' would make a string of {MORE}"),
    ("{{ (['x' * 9000000] * 2)|join }}", f"the 'join' filter would make a string of {MORE}"),
    ("{{ ['x' * 9000000] * 2 }}", f"printing this value would make a string of {MORE}"),
    ("{% set s = 'x' * 9000000 %}{{ s ~ s }}", f"'~' would make a string of {MORE}"),
    ("{{ lipsum(10**6) }}", f"lipsum() would make a string of {MORE}"),
    ("{{ [0] * 10**9 }}",
     "'*' would make a list of 1,000,000,000 items (the limit is 1,000,000)."),
    ("{{ [1]|batch(10**9, 'x')|list }}",
     "the 'batch' filter would make a list of 1,000,000,000 items (the limit is 1,000,000)."),
    ("{{ range(10**9)|list }}",
     "range() would make a sequence of 1,000,000,000 numbers (the limit is 100,000)."),
    ("{{ 10|round(-10**7) }}", "the 'round' filter would make an integer of about 33,219,281 "
                               "bits (the limit is 4,096)."),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "it ran more than 250,000 loop steps and calls, the limit for one rendering."),
    ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
     "{{ f(40) }}", "it ran more than 250,000 loop steps and calls, the limit for one "
                    "rendering."),
    ("{% set s = 'x' * 1000000 %}{% for i in range(1000) %}{% set t = s + s %}{% endfor %}",
     "its operations built more than 100,000,000 characters and items in all, the limit "
     "for one rendering."),
    ("{% for i in range(11) %}{{ 'x' * 1000000 }}{% endfor %}",
     "the rendered text passed 10,000,000 characters, the limit."),
]


def _refusal(error: Exception, prefix: str) -> str:
    message = str(error)
    assert message.startswith(prefix), message
    return message.removeprefix(prefix)


@pytest.mark.parametrize(("template", "said"), HOSTILE, ids=[t for t, _ in HOSTILE])
def test_a_hostile_user_template_is_refused_saying_what_and_the_limit(template, said):
    with pytest.raises(CompositionError) as caught:
        render_user_message(template, {})
    assert _refusal(caught.value, "The user template was refused: ") == said


@pytest.mark.parametrize("template", ["{{ 'x' * 300000000 }}", "{{ 9**(9**9) }}",
                                      "{% for m in messages %}{% for i in range(100000) %}"
                                      "{{ '' }}{% endfor %}{% endfor %}"])
def test_a_hostile_chat_template_is_refused_by_the_same_sandbox(template):
    check_template(template)  # it compiles: only rendering it asks for too much
    with pytest.raises(ChatTemplateError) as caught:
        render_chat(template, MESSAGES)
    refusal = _refusal(caught.value, "The chat template was refused: ")
    assert "(the limit is" in refusal or "the limit for one rendering" in refusal
    assert refusal.endswith(".") and not refusal.endswith("..")


def test_strftime_now_cannot_pad_a_date_to_a_gigabyte():
    with pytest.raises(ChatTemplateError, match=r"'strftime_now\(\)' would make a string of"):
        render_chat("{{ strftime_now('%999999999Y') }}", MESSAGES)


def test_filters_of_constants_run_when_rendering_not_while_compiling():
    source = "{{ 'x'|center(9000000) }}" * 100
    check_template(source)  # jinja2 would have folded 900 MB of constants into the code
    assert len(BoundedSandbox().compile(source, raw=True)) < 100_000
    with pytest.raises(ChatTemplateError, match="the rendered text passed 10,000,000"):
        render_chat(source, MESSAGES)


def test_the_rendered_text_is_bounded_however_the_variables_fill_it():
    template = "{% for i in range(12) %}{{ passage }}{% endfor %}"
    with pytest.raises(CompositionError, match="the rendered text passed 10,000,000"):
        render_user_message(template, {"passage": "p" * 1_000_000})
    assert len(render_user_message(template, {"passage": "p" * 800_000})) == 9_600_000


QWEN_STYLE = """\
{%- if tools %}
{{- '<|im_start|>system\\n' }}
{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}
{{- "# Tools\\n<tools>" }}
{%- for tool in tools %}{{- "\\n" }}{{- tool | tojson }}{%- endfor %}
{{- "\\n</tools><|im_end|>\\n" }}
{%- elif messages[0].role == 'system' %}
{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(last_query=messages|length - 1) %}
{%- for message in messages[::-1] %}
{%- set index = (messages|length - 1) - loop.index0 %}
{%- if message.role == 'user' and not message.content.startswith('<tool_response>') %}
{%- set ns.last_query = [ns.last_query, index]|min %}
{%- endif %}
{%- endfor %}
{%- for message in messages %}
{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}
{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
{%- elif message.role == 'assistant' %}
{%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}
{{- '<|im_start|>%s\\n%s' % (message.role, content) }}
{%- if loop.index0 > ns.last_query %}{{- ' [after %d]'|format(ns.last_query) }}{%- endif %}
{{- '<|im_end|>\\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""
TOOLS = [{"type": "function", "function": {"name": "weather", "description": "Weather <now>",
                                           "parameters": {"city": {"type": "string"}}}}]


@pytest.mark.parametrize("name", [*sorted(BUILTIN_TEMPLATES), "qwen-style"])
def test_real_chat_templates_render_as_in_jinja2s_own_sandbox(name):
    source = QWEN_STYLE if name == "qwen-style" else BUILTIN_TEMPLATES[name]
    conversation = [*MESSAGES, ChatMessage("assistant", "<think>hm</think>\n\nA request."),
                    ChatMessage("user", "Thanks " * 1000)]
    plain = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                          extensions=["jinja2.ext.loopcontrols"])
    for tools in ([], TOOLS):
        variables = {"messages": [m.to_dict() for m in conversation], "tools": tools,
                     "bos_token": "", "eos_token": "", "add_generation_prompt": True}
        expected = plain.from_string(source).render(**variables)
        bounded = BoundedSandbox(trim_blocks=True, lstrip_blocks=True,
                                 extensions=["jinja2.ext.loopcontrols"])
        assert bounded.from_string(source).render(**variables) == expected
    assert render_chat(source, conversation) == plain.from_string(source).render(
        messages=[m.to_dict() for m in conversation], bos_token="", eos_token="",
        add_generation_prompt=True)


def test_everyday_user_template_features_still_work():
    template = ("{{ title|upper|center(11) }}|{{ '%s=%d'|format(k, 3) }}|{{ '{}!'.format(k) }}"
                "|{% for w in words.split() %}{{ loop.index }}{{ w ~ '.' }}{% endfor %}"
                "|{{ (words.split() * 2)|join(',') }}|{{ 2**10 }}|{{ [1, 2]|tojson }}"
                "|{% macro twice(x) %}{{ x }}{{ x }}{% endmacro %}{{ twice(k) }}")
    variables = {"title": "hey", "k": "v", "words": "a b"}
    expected = ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(
        template).render(**variables)
    assert render_user_message(template, variables) == expected
    assert expected == "    HEY    |v=3|v!|1a.2b.|a,b,a,b|1024|[1, 2]|vv"


@pytest.mark.parametrize(("render", "template", "expected"), [
    # jinja2's own messages end in a period; the sentence around them must not add a second.
    ("user", "{% frobnicate %}", "The user template has a syntax error on line 1: "
                                 "Encountered unknown tag 'frobnicate'."),
    ("user", "{{ ''.__class__ }}", "The template failed to render: access to attribute "
                                   "'__class__' of 'str' object is unsafe."),
    ("chat", "{{ raise_exception('No system role.') }}",
     "The chat template refused the messages: No system role."),
    ("chat", "{{ raise_exception('No system role') }}",
     "The chat template refused the messages: No system role."),
    ("chat", "{% for %}", None),
    ("chat", "{{ messages.__class__.__mro__ }}", None),
])
def test_template_errors_end_in_exactly_one_period(render, template, expected):
    error_type = CompositionError if render == "user" else ChatTemplateError
    with pytest.raises(error_type) as caught:
        if render == "user":
            render_user_message(template, {})
        else:
            render_chat(template, MESSAGES)
    message = str(caught.value)
    assert message.endswith(".") and not message.endswith(".."), message
    if expected is not None:
        assert message == expected


def test_sentence_ends_a_quoted_error_with_one_period():
    assert sentence("It failed: bad.") == "It failed: bad."
    assert sentence("It failed: bad") == "It failed: bad."
    assert sentence("It failed: bad.. ") == "It failed: bad."
    assert sentence("Is it bad?") == "Is it bad?"
