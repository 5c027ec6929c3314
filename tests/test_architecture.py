"""The layering in docs/architecture.md, checked: import-linter contracts and start-up cost."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache", str(ROOT / "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_starting_the_app_does_not_import_torch_or_llama_cpp():
    code = (
        "import sys, workbench.cli.main, workbench.ui.main_window, workbench.services.models;"
        # scipy and statsmodels: ~20 s of the window's start on a busy machine (issue 28)
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'llama_cpp', 'scipy',"
        " 'statsmodels') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_no_module_is_too_big_to_live_in():
    too_big = [str(p.relative_to(ROOT)) for p in (ROOT / "workbench").rglob("*.py")
               if len(p.read_text().splitlines()) > 500]
    assert too_big == []


def test_no_function_is_too_long_to_read_at_once():
    """A function of the package fits a screen: over 80 lines it is doing several things."""
    too_long = []
    for path in (ROOT / "workbench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 80:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {lines}")
    assert too_long == []


def _returns_bool(node) -> bool:
    import ast

    return isinstance(node, (ast.BoolOp, ast.Compare)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)) or (
        isinstance(node, ast.Constant) and isinstance(node.value, bool))


def test_no_qt_slot_lambda_returns_a_bool():
    """PySide6 6.12 drops a reference to True/False each time a Python slot returns one
    (1000 calls abort the interpreter in "bool_dealloc"): a lambda given to connect() must
    not evaluate to a bool (`a and b()` does when a is False)."""
    import ast

    offenders = []
    for path in (ROOT / "workbench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "connect"):
                for arg in node.args:
                    if isinstance(arg, ast.Lambda) and _returns_bool(arg.body):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def _window_imports(path: Path) -> set[str]:
    """The window's feature packages (compare, evaluate, …) that ``path`` imports, at the top
    or deferred inside a function."""
    import ast

    package = path.parent.relative_to(ROOT).parts  # ('workbench', 'ui', 'compare')
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level and node.module:
            target = package[: len(package) - node.level + 1] + tuple(node.module.split("."))
            if target[:2] == ("workbench", "ui") and len(target) > 3:
                found.add(target[2])
    return found


def test_no_two_of_the_windows_feature_packages_import_each_other():
    """A feature package may use another (evaluate uses compare's run list), never both ways:
    what both need lives below them, in the ui package itself (ui/shown_values.py)."""
    features = [p for p in (ROOT / "workbench" / "ui").iterdir() if (p / "__init__.py").exists()]
    uses = {f.name: {t for p in f.rglob("*.py") for t in _window_imports(p)} - {f.name}
            for f in features}
    assert {(a, b) for a in uses for b in uses[a] if a in uses.get(b, ())} == set()


def test_the_window_asks_services_not_their_repositories():
    """Widgets call a service's verbs (``history.verdicts(run_id)``), never a repository
    through it (``runs.store.evaluations.results(run_id)``): what the window may read is
    then written down in one place, the service."""
    import re

    reach = re.compile(r"\bstore\.[a-z_]+\.[a-z_]+\(")
    found = [f"{p.relative_to(ROOT)}:{number}"
             for p in (ROOT / "workbench" / "ui").rglob("*.py")
             for number, line in enumerate(p.read_text().splitlines(), 1) if reach.search(line)]
    assert found == []
