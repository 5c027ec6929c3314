"""From a prompt version and one test case to the chat messages the model receives.

The user template is Jinja2 in the sandbox with strict undefined variables: ``{{ word }}``
works as users expect, filters and conditionals work too, and a variable the case does not
define is an error that names it instead of silently rendering an empty string. A variable the
case defines as empty renders empty, as promptfoo renders ``vars: {extra: ""}``: undefined is
not empty. (The cases table has no way to say "empty on purpose": its empty cells are left out
of a case's variables, so they count as not defined — services/workspace.py.)
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta

from .errors import WorkbenchError, sentence
from .messages import ChatMessage
from .prompts import FewShotExample, PromptVersion
from .template_limits import TemplateLimitError
from .template_sandbox import BoundedSandbox


class CompositionError(WorkbenchError):
    """The prompt cannot be built for this case; the message says what to fix."""


_ENV = BoundedSandbox(undefined=StrictUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=256)
def _template(source: str):
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as error:
        raise CompositionError(sentence(f"The user template has a syntax error on line "
                                        f"{error.lineno}: {error.message}")) from None


def template_variables(source: str) -> list[str]:
    """Variable names a template uses, sorted (for table columns)."""
    try:
        return sorted(meta.find_undeclared_variables(_ENV.parse(source)))
    except TemplateSyntaxError:
        return []


def missing_variables(template: str, variables: dict[str, str]) -> list[str]:
    """Template variables this row leaves empty or undefined.

    An empty cell is almost always a value the user forgot, not a wish for "".
    """
    return [name for name in template_variables(template) if not variables.get(name)]


def undefined_variables(template: str, variables: dict[str, str]) -> list[str]:
    """Template variables this row does not define (an empty value is defined)."""
    return [name for name in template_variables(template) if name not in variables]


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _render(template: str, variables: dict[str, str]) -> str:
    try:
        return _template(template).render(**variables)
    except UndefinedError as error:
        raise CompositionError(sentence(f"The template refers to something undefined: "
                                        f"{error}")) from None
    except TemplateLimitError as error:
        raise CompositionError(sentence(f"The user template was refused: {error}")) from None
    except CompositionError:
        raise
    except Exception as error:  # noqa: BLE001 - a template bug must not escape as a crash
        raise CompositionError(sentence(f"The template failed to render: {error}")) from None


def render_user_message(template: str, variables: dict[str, str],
                        allow_empty: Collection[str] = ()) -> str:
    """``allow_empty``: kept for callers that name variables meant to be empty (a variant
    without retrieval: context); an empty value renders empty whatever its name."""
    missing = [n for n in undefined_variables(template, variables) if n not in allow_empty]
    if missing:
        raise CompositionError(f"The template uses {_quoted(missing)}, which this test case "
                               "does not define. Give it a value (an empty one renders empty) "
                               "or remove it from the template.")
    return _render(template, variables)


def example_user_message(template: str, example: FewShotExample, number: int) -> str:
    """The user turn of example ``number`` (1-based, as the table numbers its rows).

    A templated example goes through the user template like a test case, so examples and cases
    have the same shape; a raw example is its own text. Errors name the example.
    """
    if example.variables is None:
        return example.input
    missing = missing_variables(template, example.variables)
    if missing:
        word = "variable" if len(missing) == 1 else "variables"
        verb = "is" if len(missing) == 1 else "are"
        raise CompositionError(f"Example {number}: {word} {_quoted(missing)} {verb} empty. "
                               "Fill it in, or untick the example to leave it out.")
    try:
        return _render(template, example.variables)
    except CompositionError as error:
        raise CompositionError(f"Example {number}: {error}") from None


def example_as_raw(template: str, example: FewShotExample) -> FewShotExample:
    """A templated example as raw text: the user message it stood for, when it renders."""
    if example.variables is None:
        return example
    try:
        text = example_user_message(template, example, 0)
    except CompositionError:  # half filled: keep what the user typed rather than lose it
        text = example.input
    return FewShotExample(text, example.output, example.enabled)


def example_messages(version: PromptVersion) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for number, example in enumerate(version.examples, 1):
        if example.enabled and not example.is_blank:  # a blank row is not an example yet
            user = example_user_message(version.user_template, example, number)
            messages += [ChatMessage("user", user), ChatMessage("assistant", example.output)]
    return messages


def system_messages(version: PromptVersion) -> list[ChatMessage]:
    return [ChatMessage("system", version.system_prompt)] if version.system_prompt.strip() else []


def build_messages(version: PromptVersion, variables: dict[str, str],
                   allow_empty: Collection[str] = ()) -> list[ChatMessage]:
    """System prompt, enabled few-shot examples as user/assistant turns, then the case."""
    examples = example_messages(version)  # first: an example's error is the first to fix
    user = render_user_message(version.user_template, variables, allow_empty)
    if not user.strip():
        raise CompositionError("The prompt is empty: write a user template (for example "
                               "'{{ input }}') or fill in the test case.")
    return [*system_messages(version), *examples, ChatMessage("user", user)]
