"""Prompts and their immutable versions."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ids import new_id, utc_now

VARIABLE = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}")


@dataclass(frozen=True)
class FewShotExample:
    input: str
    output: str
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output, "enabled": self.enabled}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FewShotExample":
        return cls(data["input"], data["output"], bool(data.get("enabled", True)))


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
