"""From a prompt version and one test case to the chat messages the model receives.

The user template is Jinja2 in the sandbox with strict undefined variables: ``{{ word }}``
works as users expect, filters and conditionals work too, and a missing variable is an error
that names it instead of silently rendering an empty string.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import WorkbenchError
from .messages import ChatMessage
from .prompts import PromptVersion


class CompositionError(WorkbenchError):
    """The prompt cannot be built for this case; the message says what to fix."""


_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=256)
def _template(source: str):
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as error:
        raise CompositionError(f"The user template has a syntax error on line {error.lineno}: "
                               f"{error.message}.") from None


def template_variables(source: str) -> list[str]:
    """Variable names a template uses, sorted (for table columns)."""
    try:
        return sorted(meta.find_undeclared_variables(_ENV.parse(source)))
    except TemplateSyntaxError:
        return []


def render_user_message(template: str, variables: dict[str, str]) -> str:
    # An empty cell is almost always a value the user forgot, not a wish for "".
    missing = [name for name in template_variables(template) if not variables.get(name)]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        raise CompositionError(f"The template uses {names}, which this test case leaves empty "
                               "or does not define. Fill it in or remove it from the template.")
    try:
        return _template(template).render(**variables)
    except UndefinedError as error:
        raise CompositionError(f"The template refers to something undefined: {error}.") from None
    except Exception as error:  # noqa: BLE001 - a template bug must not escape as a crash
        raise CompositionError(f"The template failed to render: {error}.") from None


def example_messages(version: PromptVersion) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for example in version.examples:
        if example.enabled:
            messages += [ChatMessage("user", example.input), ChatMessage("assistant", example.output)]
    return messages


def system_messages(version: PromptVersion) -> list[ChatMessage]:
    return [ChatMessage("system", version.system_prompt)] if version.system_prompt.strip() else []


def build_messages(version: PromptVersion, variables: dict[str, str]) -> list[ChatMessage]:
    """System prompt, enabled few-shot examples as user/assistant turns, then the case."""
    user = render_user_message(version.user_template, variables)
    if not user.strip():
        raise CompositionError("The prompt is empty: write a user template (for example "
                               "'{{ input }}') or fill in the test case.")
    return [*system_messages(version), *example_messages(version), ChatMessage("user", user)]
