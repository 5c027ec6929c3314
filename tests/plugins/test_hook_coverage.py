"""Meta-test: every hook is documented (docstring and docs/plugins.md) and exercised by a test."""

from __future__ import annotations

import inspect
import re
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
    # Each hook must be named in full somewhere in the tests (``test_hook_register_x`` counts,
    # ``register_xs`` does not): a bare word such as "settings" is in dozens of test files, so
    # a hook matched by it could never be found missing.
    uses = {h: re.search(rf"(?<![A-Za-z0-9]){h}(?!\w)", tests) is not None for h in HOOKS}
    assert [h for h, used in uses.items() if not used] == []


# Hooks the window or the trainer drives, and the test that drives each through the product.
DRIVEN_ELSEWHERE = {
    "register_panels": "tests/plugins/test_plugins_gui.py::test_panels_menu_actions_and_the_plugins_dialog",
    "register_menu_actions": "tests/plugins/test_plugins_gui.py::test_panels_menu_actions_and_the_plugins_dialog",
    "register_settings": "tests/plugins/test_plugins_gui.py::test_a_plugin_setting_is_edited_in_the_plugins_dialog",
    "tune_job_did_finish": "tests/tuning/test_job_failures.py::test_crash_then_resume_then_cancel",
}


def test_every_hook_is_driven_through_the_product():
    """datasette's rule: a hook counts as tested when the product calls it, not a test."""
    product = (ROOT / "tests" / "plugins" / "test_hooks_through_the_product.py").read_text()
    missing = []
    for hook in HOOKS:
        if f"def test_hook_{hook}(" in product:
            continue
        where = DRIVEN_ELSEWHERE.get(hook)
        if where is None:
            missing.append(hook)
            continue
        path, name = where.split("::")
        if f"def {name}(" not in (ROOT / path).read_text():
            missing.append(f"{hook} ({where} is gone)")
    assert missing == []

