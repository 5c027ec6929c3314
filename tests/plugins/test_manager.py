"""Discovery, isolation of failing plugins, enable/disable, safe mode."""

from __future__ import annotations

import sys

from workbench.core.messages import ChatMessage
from workbench.plugins.contributions import Flag


def test_a_good_plugin_contributes_through_every_hook(manager_with):
    manager = manager_with("good_plugin")
    record = manager.records["good_plugin"]
    assert (record.status, record.version, record.source) == ("active", "2.5", "user folder")
    assert len(record.hooks) == 12
    assert record.description.startswith("A well-behaved plugin")  # its docstring
    assert "echo" in manager.backends()
    assert {s.scorer: s.value for s in manager.scores("abc", None)}["length"] == 3.0
    assert manager.transform([ChatMessage("user", "hi")])[0].content == "HI"
    assert [t.name for _, t in manager.contributions("register_prompt_transforms")] == ["shout"]
    assert manager.check_output("A secret plan") == [Flag("says secret", 0, 6)]
    assert [i.name for _, i in manager.contributions("register_importers")][-1] == "lines"
    assert [e.name for _, e in manager.contributions("register_exporters")][-1] == "lines"
    (greetings,) = manager.settings_of("good_plugin")  # register_settings
    assert greetings.load() == ["hello"]
    greetings.save(["hi", "hey"])
    assert greetings.load() == ["hi", "hey"]


def test_events_reach_the_plugin(manager_with):
    manager = manager_with("good_plugin")
    events = sys.modules["workbench_plugin_good_plugin"].EVENTS
    events.clear()

    class Thing:
        id = "x1"

    manager.emit("run_will_start", run=Thing())
    manager.emit("output_did_finish", output=Thing())
    manager.emit("tune_job_did_finish", job=Thing())
    assert events == [("run_will_start", "x1"), ("output_did_finish", "x1"),
                      ("tune_job_did_finish", "x1")]


def test_failing_plugins_are_reported_switched_off_and_the_rest_works(manager_with):
    manager = manager_with("good_plugin", "broken_import", "raising_hook", "wrong_type",
                           "hanging")
    broken = manager.records["broken_import"]
    assert broken.status == "failed" and "this_module_does_not_exist" in broken.error
    assert "Traceback" in broken.details
    # Hooks run when their contributions are first needed.
    assert [s.scorer for s in manager.scores("x", "x")][-1] == "length"
    raising = manager.records["raising_hook"]
    assert raising.status == "failed" and "scorer setup exploded" in raising.error
    assert manager.check_output("a secret") == [Flag("says secret", 0, 6)]
    wrong = manager.records["wrong_type"]
    assert wrong.status == "failed" and "expected a list of Flag, got str" in wrong.error
    exporters = manager.contributions("register_exporters")
    hanging = manager.records["hanging"]
    assert hanging.status == "failed" and "did not answer within 0.5 s" in hanging.error
    assert "lines" in [e.name for _, e in exporters]
    assert manager.records["good_plugin"].status == "active"
    # Switched off: a second call does not touch it again.
    assert manager.check_output("a secret") == [Flag("says secret", 0, 6)]


def test_enable_disable_persists(manager_with, tmp_path):
    manager = manager_with("good_plugin")
    manager.set_enabled("good_plugin", False)
    again = manager_with()
    assert again.records["good_plugin"].status == "disabled"
    assert "echo" not in again.backends()
    again.set_enabled("good_plugin", True)
    assert manager_with().records["good_plugin"].status == "active"


def test_safe_mode_loads_no_plugins_but_lists_them(manager_with):
    sys.modules.pop("workbench_plugin_good_plugin", None)
    manager = manager_with("good_plugin", "broken_import", safe_mode=True, repo=True)
    for name in ("good_plugin", "broken_import", "safety_filter", "openai_compat"):
        assert manager.records[name].status == "not loaded (safe mode)"
    assert "workbench_plugin_good_plugin" not in sys.modules
    assert manager.records["llama.cpp"].status == "active"  # built-ins stay
