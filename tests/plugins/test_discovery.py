"""The first-party plugins are found where the installed package carries them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_first_party_folder_is_found_in_an_installed_layout(tmp_path):
    """As the wheel lays them out in site-packages (workbench/ beside workbench_plugins/, no
    plugins/ anywhere), not a folder two levels above the module, which is site-packages."""
    site = tmp_path / "site-packages"
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "workbench", site / "workbench", ignore=skip)
    shutil.copytree(ROOT / "plugins", site / "workbench_plugins", ignore=skip)
    found = subprocess.run(
        [sys.executable, "-c", "from workbench.plugins.discovery import REPO_PLUGINS;"
         "import workbench; print(workbench.__file__); print(REPO_PLUGINS)"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True,
        text=True, timeout=120, check=True).stdout.splitlines()
    assert found[0] == str(site / "workbench" / "__init__.py")  # the copy, not the checkout
    assert found[1] == str(site / "workbench_plugins")
