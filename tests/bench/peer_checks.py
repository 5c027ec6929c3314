"""The shipped task as the DSPy peer reads it (plain Python and PyYAML, so it runs in DSPy's
venv and is tested in the project's): the starting instruction, each test with its checks,
and those checks applied plainly — only the three types the task uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

VARIABLE = re.compile(r"\{\{\s*review\s*\}\}")


def read_cases(suite_path: str | Path) -> tuple[str, list[dict]]:
    """The starting instruction (the first prompt without its ``{{review}}``) and every test
    with its checks (defaultTest's first, as the engine merges them)."""
    suite = yaml.safe_load(Path(suite_path).read_text(encoding="utf-8"))
    first = suite["prompts"][0]
    raw = first["raw"] if isinstance(first, dict) else first
    instruction = VARIABLE.sub("", raw).strip()
    defaults = (suite.get("defaultTest") or {}).get("assert") or []
    cases = [{"index": index, "review": test["vars"]["review"], "expected": test.get("expected"),
              "checks": list(defaults) + list(test.get("assert") or [])}
             for index, test in enumerate(suite["tests"])]
    return instruction, cases


def passes(checks: list[dict], answer: str | None) -> bool:
    """``icontains`` (the value, case ignored, is in the answer), ``not-icontains`` (it is
    not), ``max-length`` (at most that many characters); any other type fails, and so does
    no answer at all — never a silent pass."""
    if answer is None:
        return False
    for check in checks:
        kind, value = check["type"], check.get("value")
        if kind == "icontains":
            ok = str(value).lower() in answer.lower()
        elif kind == "not-icontains":
            ok = str(value).lower() not in answer.lower()
        elif kind == "max-length":
            ok = len(answer) <= int(value)
        else:
            ok = False
        if not ok:
            return False
    return True
