from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workbench.core.paths import app_paths
from workbench.plugins.manager import PluginManager

SAMPLES = Path(__file__).with_name("sample_plugins")


def install(*names: str) -> Path:
    """Copy sample plugins into the user's plugin folder (of this test's WORKBENCH_HOME)."""
    folder = app_paths().ensure().plugins
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SAMPLES / f"{name}.py", folder / f"{name}.py")
    return folder


@pytest.fixture
def manager_with():
    def make(*names: str, safe_mode: bool = False, repo: bool = False) -> PluginManager:
        install(*names)
        kwargs = {} if repo else {"repo_folder": None}
        return PluginManager(safe_mode=safe_mode, hook_timeout_s=0.5, **kwargs).load()
    return make
