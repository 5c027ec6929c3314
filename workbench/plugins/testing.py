"""A pytest fixture for plugin authors (installed as a pytest plugin with the package).

    def test_my_scorer(workbench_plugins):
        manager = workbench_plugins(my_plugin_module)
        assert manager.scores("hello", "hello")[-1].value == 1.0

The manager loads only the built-ins and the modules you pass, in a private WORKBENCH_HOME,
with a short hook timeout so a hanging hook fails the test quickly.
"""

from __future__ import annotations

import pytest

from .manager import PluginManager, PluginRecord


@pytest.fixture
def workbench_plugins(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "workbench-home"))

    def load(*modules, hook_timeout_s: float = 2.0) -> PluginManager:
        # Not what is installed: a plugin under test is not loaded twice (its own entry point
        # and the module passed), and other plugins' contributions do not mix into its results.
        manager = PluginManager(repo_folder=None, hook_timeout_s=hook_timeout_s).load(
            discover=False)
        for module in modules:
            name = getattr(module, "__name__", "plugin").rsplit(".", 1)[-1]
            manager._register(PluginRecord(name, "test"), module)
        return manager

    return load
