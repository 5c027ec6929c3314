"""The layering in DESIGN.md, checked: import-linter contracts and start-up cost."""

from __future__ import annotations

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
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'llama_cpp') if m in sys.modules];"
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
