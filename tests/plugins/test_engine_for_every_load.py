"""Every model load goes through the engine the plugins chose: a plugin that replaces the
llama.cpp engine (sample_plugins/engine_plugin.py) sees the window's preload and the command
line's loads, and safe mode (no plugins but the built-ins) leaves it out."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.plugins.conftest import install
from workbench.core.paths import app_paths
from workbench.library.bundled import BUNDLED_NAME
from workbench.ui.preload import ModelPreload


def engine_loads() -> list[str]:
    record = app_paths().logs / "engine_plugin.loads"
    return record.read_text().splitlines() if record.exists() else []


def workbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=180, env=os.environ.copy())


def test_the_preload_loads_through_a_plugins_engine(workbench_home, bundled_model):
    install("engine_plugin")
    preload = ModelPreload.start(None)
    try:
        plugins = preload.plugins()  # started first, in the preload's thread
        assert plugins.records["engine_plugin"].active
        host = preload.models.load(preload.settings)  # the preload's own host, shared
        assert engine_loads() == [str(bundled_model)]
        assert host.tokenize("hello", add_special=False)
    finally:
        preload.models.close()


def test_the_command_line_loads_through_a_plugins_engine(workbench_home, bundled_model):
    install("engine_plugin")
    for command in (("tokenize", "hello"), ("info", BUNDLED_NAME),
                    ("generate", "--max-tokens", "2", "--temperature", "0", "Hi")):
        before = len(engine_loads())
        done = workbench(*command)
        assert done.returncode == 0, done.stderr
        assert engine_loads()[before:] == [str(bundled_model)], command


def test_safe_mode_loads_with_the_built_in_engine(workbench_home, bundled_model):
    install("engine_plugin")
    done = workbench("--safe-mode", "tokenize", "hello")
    assert done.returncode == 0, done.stderr
    assert "28120" in done.stdout  # the model was loaded, by the built-in engine
    assert engine_loads() == []
