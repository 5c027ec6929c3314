"""A suite written back in promptfoo's layout (see suite_file's docstring for what is kept)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ...core.evaluation import Assertion
from ...core.prompts import VARIABLE, FewShotExample
from ...core.suites import Suite, SuitePrompt, SuiteProvider
from .suite_yaml import plain

HEADER = (
    "# A Prompt Workbench suite in promptfoo's layout (promptfoo eval -c reads it too).\n"
    "# `expected` on a test is a Prompt Workbench extension: the reference answer that\n"
    "# rouge-l, levenshtein and likelihood checks compare with; promptfoo does not use it.\n"
)



def dump_suite(suite: Suite) -> str:
    """YAML in promptfoo's layout that ``parse_suite`` reads back to an equal suite."""
    data: dict[str, Any] = {}
    if suite.description:
        data["description"] = suite.description
    data["prompts"] = [_prompt_data(prompt) for prompt in suite.prompts]
    if suite.providers:
        data["providers"] = [_provider_data(provider) for provider in suite.providers]
    default_test = _test_data(vars=suite.default_vars, assertions=suite.default_assertions,
                              threshold=suite.default_threshold)
    options = {**({"provider": suite.judge} if suite.judge else {}), **suite.default_options}
    if options:
        default_test["options"] = options
    if default_test:
        data["defaultTest"] = default_test
    if suite.tests:
        data["tests"] = [_test_data(description=t.description, vars=t.vars,
                                    assertions=t.assertions, threshold=t.threshold,
                                    expected=t.expected, options=t.options)
                         for t in suite.tests]
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def save_suite(suite: Suite, path: str | Path) -> None:
    """Write ``dump_suite(suite)`` to ``path``."""
    Path(path).write_text(dump_suite(suite), encoding="utf-8")



class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line text, lists for tuples, no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # list items indented under their key


def _represent_text(dumper: _Dumper, text: str) -> yaml.ScalarNode:
    style = None
    if "\n" in text:  # text as a block; a stop string of only line breaks quoted: "\n"
        style = "|" if text.strip() else '"'

    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)
_Dumper.add_representer(tuple, lambda dumper, data: dumper.represent_list(list(data)))


def _prompt_data(prompt: SuitePrompt) -> str | dict[str, str]:
    raw = prompt.user_template
    if prompt.system or prompt.examples:
        messages = [{"role": "system", "content": prompt.system}] if prompt.system else []
        for example in prompt.examples:
            if example.enabled:
                messages.append({"role": "user",
                                 "content": _example_input(example, prompt.user_template)})
                messages.append({"role": "assistant", "content": example.output})
        messages.append({"role": "user", "content": prompt.user_template})
        raw = "[\n" + ",\n".join(  # one message a line: readable, and still JSON
            "  " + json.dumps(message, ensure_ascii=False) for message in messages) + "\n]"
    if not prompt.label or prompt.label == raw:
        return raw
    return {"label": prompt.label, "raw": raw}


def _example_input(example: FewShotExample, template: str) -> str:
    """A templated example's user message is the template filled with its values."""
    if example.variables is None:
        return example.input
    return VARIABLE.sub(lambda m: example.variables.get(m[1], m[0]), template)


def _provider_data(provider: SuiteProvider) -> str | dict[str, Any]:
    if not provider.label and not provider.config:
        return provider.id
    data: dict[str, Any] = {"id": provider.id}
    if provider.label:
        data["label"] = provider.label
    if provider.config:
        data["config"] = plain(provider.config)
    return data


def _test_data(*, description: str = "", vars: dict[str, str], assertions: tuple[Assertion, ...],
               threshold: float | None, expected: str | None = None,
               options: dict[str, str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if description:
        data["description"] = description
    if vars:
        data["vars"] = dict(vars)
    if assertions:
        data["assert"] = [plain(assertion.to_dict()) for assertion in assertions]
    if threshold is not None:
        data["threshold"] = threshold
    if expected is not None:
        data["expected"] = expected
    if options:
        data["options"] = dict(options)
    return data
