"""promptfoo's ``options`` of a test and of ``defaultTest``, as a suite file gives them.

- ``transform``: JavaScript run on the output before its checks (a test's own replaces
  defaultTest's, as promptfoo merges options);
- ``transformVars``: JavaScript run on the test's variables before its prompts are rendered,
  once per test and run;
- ``provider`` (defaultTest only): the judge of model-graded assertions.

The code is compiled in the sandbox (``javascript.py``) as the file is read, so a syntax error
is named with its file and line before anything is generated.
"""

from __future__ import annotations

from typing import Any

from .javascript import CHECK_PARAMS, VARS_PARAMS, transform_problem
from .suite_yaml import LinedMap, SuiteReader, text_of

CODE_OPTIONS = {"transform": CHECK_PARAMS, "transformVars": VARS_PARAMS}
TEST_OPTIONS = tuple(CODE_OPTIONS)
DEFAULT_TEST_OPTIONS = ("provider", *TEST_OPTIONS)
# Why a few other promptfoo options do nothing here.
OPTION_HINTS = {
    "provider": "the judge is set once, as defaultTest.options.provider",
    "postprocess": "promptfoo's older name: write it as transform",
    "rubricPrompt": "a judge's prompt is Prompt Workbench's own",
}


def read_options(reader: SuiteReader, node: Any, line: int | None, name: str,
                 allowed: tuple[str, ...]) -> dict[str, str]:
    """The JavaScript options of ``node`` (a test's or defaultTest's ``options``), each
    compiled; every problem recorded with its line. ``provider`` is the caller's to read."""
    if node is None:
        return {}
    if not isinstance(node, LinedMap):
        reader.problem(line, "options", f"in {name}: must be a mapping ({', '.join(allowed)})")
        return {}
    for key in node:
        if key not in allowed:
            hint = f" ({OPTION_HINTS[key]})" if key in OPTION_HINTS else ""
            reader.problem(node.line_of(key), str(key),
                           f"not supported in {name}'s options{hint}; supported there: "
                           f"{', '.join(allowed)}")
    options = {}
    for key, params in CODE_OPTIONS.items():
        if key not in node or key not in allowed:
            continue
        code = text_of(reader, node.get(key), node.line_of(key), key)
        if code is None:
            continue
        problem = transform_problem(code, f"options.{key}", params)
        if problem:
            reader.problem(node.line_of(key), key, f"in {name}: {problem}")
        options[key] = code
    return options
