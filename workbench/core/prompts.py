"""Prompts and their immutable versions."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ids import new_id, utc_now
from .tabular import RowProblem, Rows, TabularError

VARIABLE = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}")


@dataclass(frozen=True)
class FewShotExample:
    """One user/assistant pair shown to the model before the case.

    An example is either raw text (``variables is None``: ``input`` is the user message, the old
    shape every stored prompt before templated examples has) or a set of template variables
    (``variables`` is a dict): its user message is the user template rendered with them, exactly
    as a test case's is. A templated example keeps its values joined in ``input`` too, so the
    full-text search (which reads ``input`` from the stored JSON) still finds it.
    """

    input: str
    output: str
    enabled: bool = True
    variables: dict[str, str] | None = field(default=None, hash=False)

    @classmethod
    def templated(cls, variables: dict[str, str], output: str,
                  enabled: bool = True) -> FewShotExample:
        values = dict(variables)
        text = "\n".join(v for v in values.values() if v.strip())
        return cls(text, output, enabled, values)

    @property
    def is_templated(self) -> bool:
        return self.variables is not None

    @property
    def is_blank(self) -> bool:
        """A row the user added but has not filled yet: nothing to show the model."""
        values = self.variables.values() if self.variables is not None else (self.input,)
        return not self.output.strip() and not any(v.strip() for v in values)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"input": self.input, "output": self.output,
                                "enabled": self.enabled}
        if self.variables is not None:  # absent for raw examples: old hashes stay the same
            data["variables"] = dict(self.variables)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FewShotExample:
        variables = data.get("variables")
        enabled = bool(data.get("enabled", True))
        if isinstance(variables, dict):
            return cls.templated({str(k): str(v) for k, v in variables.items()},
                                 data.get("output", ""), enabled)
        return cls(data.get("input", ""), data.get("output", ""), enabled)


@dataclass(frozen=True)
class Prompt:
    """A named line of versions inside a session."""

    session_id: str
    name: str
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class PromptVersion:
    """One saved state of a prompt. Never changed after it is stored; edits make a new one."""

    prompt_id: str
    system_prompt: str = ""
    examples: tuple[FewShotExample, ...] = ()
    user_template: str = ""
    parent_id: str | None = None
    note: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names in the user template, in order of first use."""
        seen: dict[str, None] = {}
        for name in VARIABLE.findall(self.user_template):
            seen.setdefault(name, None)
        return tuple(seen)

    @property
    def content_hash(self) -> str:
        """Hash of what the model sees (not of note, parent or time): equal content, equal hash."""
        return content_hash(self.system_prompt, self.examples, self.user_template)


def content_hash(system_prompt: str, examples, user_template: str) -> str:
    canonical = json.dumps(
        {"system": system_prompt, "examples": [e.to_dict() for e in examples],
         "template": user_template},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


ANSWER_KEYS = ("answer", "expected", "output", "completion", "response", "assistant")


def templated_examples(rows: Rows, names: list[str]) -> tuple[list[FewShotExample], list[RowProblem]]:
    """Examples from a table whose columns are the template's variables plus an answer column."""
    answer = next((c for c in rows.columns if c.lower() in ANSWER_KEYS), None)
    if answer is None:
        raise TabularError("Examples need an answer column (for example 'answer' or 'output') "
                           f"next to the variables; found: {', '.join(rows.columns) or 'none'}.")
    examples, problems = [], list(rows.problems)
    for index, row in enumerate(rows.rows, 1):
        values = {name: row.get(name, "") for name in names}
        if not any(v.strip() for v in values.values()):
            problems.append(RowProblem(index, f"no value for {', '.join(names)}"))
            continue
        examples.append(FewShotExample.templated(values, row.get(answer, "")))
    return examples, problems
