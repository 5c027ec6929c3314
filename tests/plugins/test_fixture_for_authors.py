"""The pytest fixture the package ships for plugin authors works as docs/plugins.md shows."""

from __future__ import annotations

import types

from workbench.plugins import hookimpl
from workbench.plugins.contributions import Scorer


def make_plugin():
    module = types.ModuleType("shout")

    @hookimpl
    def register_scorers(register):
        register(Scorer("shouting", lambda text, expected: float(text.isupper())))

    module.register_scorers = register_scorers
    return module


def test_workbench_plugins_fixture_loads_a_plugin(workbench_plugins):
    manager = workbench_plugins(make_plugin())
    assert manager.records["shout"].status == "active"
    assert {s.scorer: s.value for s in manager.scores("HEY", None)}["shouting"] == 1.0


def test_the_fixture_loads_only_the_built_ins_and_the_plugin_under_test(workbench_plugins):
    """Installed plugins (the first-party ones have entry points) stay out: their scorers and
    filters would mix into the results, and a plugin under test that is also installed would
    be registered twice."""
    manager = workbench_plugins(make_plugin())
    assert {r.source for r in manager.records.values()} == {"built-in", "test"}
    assert "safety_filter" not in manager.records
