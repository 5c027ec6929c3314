"""Meta-test: every hook is documented (docstring and docs/plugins.md) and exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

from workbench.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [name for name, value in vars(hookspecs).items()
         if inspect.isfunction(value) and hasattr(value, "workbench_spec")]


def test_there_are_hooks():
    assert len(HOOKS) == 12


def test_every_hook_has_a_docstring():
    assert [h for h in HOOKS if not (getattr(hookspecs, h).__doc__ or "").strip()] == []


def test_every_hook_is_in_the_plugin_authors_guide():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    assert [h for h in HOOKS if f"`{h}`" not in guide] == []


def test_every_hook_is_implemented_by_a_tested_plugin_and_called_in_a_test():
    sample = (Path(__file__).with_name("sample_plugins") / "good_plugin.py").read_text()
    assert [h for h in HOOKS if f"def {h}(" not in sample] == []
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py")
                      if p.name != Path(__file__).name)
    # Each hook's contributions or event must be used somewhere in the tests.
    uses = {h: h in tests or h.replace("register_", "") in tests for h in HOOKS}
    assert [h for h, used in uses.items() if not used] == []
