"""Every hook driven through the product's own services, not called by hand (datasette's
rule): a plugin whose contributions record their calls, installed in the user's plugin folder
and loaded as the app loads plugins. tests/plugins/test_hook_coverage.py checks that each hook
has its ``test_hook_<name>`` here or a named test elsewhere."""

from __future__ import annotations

import sys

import pytest

from tests.plugins.conftest import install
from workbench.core.cases import CaseSet, TestCase
from workbench.core.prompts import Prompt, PromptVersion
from workbench.core.runs import RunStatus
from workbench.core.sampling import GREEDY
from workbench.core.sessions import Session
from workbench.services.compare import RunService, VariantSpec
from workbench.services.models import ModelService
from workbench.services.plugins import start_plugins
from workbench.services.results_export import export_results
from workbench.services.sessions import open_store


class Listener:
    def __init__(self):
        self.outputs, self.annotations = [], []

    def cell_started(self, *args): ...
    def cell_token(self, *args): ...
    def run_finished(self, *args): ...

    def cell_finished(self, output):
        self.outputs.append(output)

    def cell_annotated(self, output_id, variant_id, case_id, flags, scores):
        self.annotations.append((output_id, flags, scores))


@pytest.fixture
def product(workbench_home):
    """The app's services with the recording plugin, and one run of it on its echo backend."""
    install("recording_plugin")
    store = open_store()
    models = ModelService(store=store)
    plugins = start_plugins(models)
    plugin = sys.modules["workbench_plugin_recording_plugin"]
    plugin.EVENTS.clear()
    session = store.sessions.add(Session("hooks"))
    line = store.prompts.add_prompt(Prompt(session.id, "p"))
    version = store.prompts.save_version(PromptVersion(line.id, user_template="tell a {{x}}"))
    cases = store.case_sets.save(CaseSet(session.id, "cases", (TestCase("", {"x": "secret"}),)))
    listener = Listener()
    handle = RunService(store, models, plugins).start(
        session.id, cases.id, list(cases.cases),
        [VariantSpec("echo", version, "echo+anything", GREEDY)], listener)
    assert handle.wait(60)
    yield store, models, plugins, plugin, handle.run, listener
    models.close()
    store.close()


def test_hook_register_backends(product):
    store, models, _, plugin, run, listener = product
    assert models.is_remote("echo+anything")
    (output,) = listener.outputs
    assert output.error is None and output.model_path == "echo+anything"
    assert ("generate", "TELL A SECRET") in plugin.EVENTS
    assert store.runs.get(run.id).status is RunStatus.DONE


def test_hook_register_prompt_transforms(product):
    (output,) = product[5].outputs
    assert output.text == "TELL A SECRET"  # the echo answers what it was sent: shouted


def test_hook_register_output_filters(product):
    (_, flags, _), = product[5].annotations
    assert flags == ["says secret"]


def test_hook_register_scorers(product):
    (_, _, scores), = product[5].annotations
    assert scores["vowels"] == 0.0  # upper case: no lower-case vowels


def test_hook_run_will_start(product):
    *_, plugin, run, _ = product
    assert ("run_will_start", run.id) in plugin.EVENTS


def test_hook_output_did_finish(product):
    *_, plugin, _, listener = product
    assert ("output_did_finish", listener.outputs[0].id) in plugin.EVENTS


def test_hook_register_exporters(product, tmp_path):
    store, _, plugins, plugin, run, listener = product
    target = tmp_path / "results.rec"
    assert export_results(store, plugins, run, target) == 1
    (rows,) = plugin.WRITTEN.values()
    assert rows[0]["output"] == "TELL A SECRET" and rows[0]["variant"] == "echo"
    with pytest.raises(Exception, match="No exporter writes .xyz"):
        export_results(store, plugins, run, tmp_path / "results.xyz")


def test_hook_register_importers(product, tmp_path):
    plugins = product[2]
    path = tmp_path / "cases.lines"
    path.write_text("first\n\nsecond\n")
    rows = plugins.read_table(path)
    assert rows.columns == ["line"] and [r["line"] for r in rows.rows] == ["first", "second"]
    # the built-in importer reads CSV through the same path
    (tmp_path / "cases.csv").write_text("country\nPeru\n")
    assert plugins.read_table(tmp_path / "cases.csv").rows == [{"country": "Peru"}]
    with pytest.raises(Exception, match="No importer reads .xlsx"):
        plugins.read_table(tmp_path / "cases.xlsx")


def test_local_models_open_through_the_llamacpp_backend_hook(workbench_home, bundled_model):
    """Local GGUF files are opened by the `llamacpp` backend's `load`, so a plugin can put
    another engine under every local model; the built-in one is used until one does."""
    install("engine_plugin")
    models = ModelService()
    start_plugins(models)
    plugin = sys.modules["workbench_plugin_engine_plugin"]
    try:
        host = models.load_named(str(bundled_model), n_ctx=512, n_parallel=1)
        assert plugin.LOADED == [str(bundled_model)]
        assert host.tokenize("hello", add_special=False)
    finally:
        models.close()


def test_the_composer_imports_cases_through_the_importer_plugins(qtbot, workbench_home,
                                                                 tmp_path, monkeypatch):
    """A plugin's table format sits beside the built-in ones in the composer's Import…."""
    from PySide6.QtCore import Qt

    from tests.plugins.test_plugins_gui import services_with_plugins
    from tests.ui.conftest import make_window
    from workbench.ui.compose import composer

    services = services_with_plugins("recording_plugin")
    try:
        window = make_window(qtbot, services)
        window.composer.template_edit.setPlainText("Tell me about {{ line }}.")
        path = tmp_path / "cases.lines"
        path.write_text("rain\nsnow\n")
        offered = []
        monkeypatch.setattr(composer.QFileDialog, "getOpenFileName", lambda *args: (
            offered.append(args[-1]), (str(path), ""))[1])
        qtbot.mouseClick(window.composer.cases.import_button, Qt.MouseButton.LeftButton)
        assert "*.lines" in offered[0] and "*.csv" in offered[0]
        assert [v for v, _ in window.composer.cases.rows()] == [{"line": "rain"},
                                                              {"line": "snow"}]
    finally:
        services.models.close()
        services.store.close()


def test_a_suites_table_of_tests_is_read_by_the_importer_plugins(workbench_home, tmp_path):
    """`tests: file://cases.lines` in a suite: the recording plugin's importer reads it, as it
    reads the composer's tables; the built-in CSV importer serves .csv the same way."""
    from workbench.services.evaluation.preflight import Preflight, check_file

    install("recording_plugin")
    models = ModelService()
    plugins = start_plugins(models)
    (tmp_path / "cases.lines").write_text("Peru\nChile\n")
    (tmp_path / "suite.yaml").write_text("prompts: ['Capital of {{line}}?']\n"
                                         "tests: file://cases.lines\n")
    suite = check_file(tmp_path / "suite.yaml", Preflight(models, plugins), need_models=False)
    assert [test.vars for test in suite.tests] == [{"line": "Peru"}, {"line": "Chile"}]
    (tmp_path / "other.yaml").write_text("prompts: ['{{line}}']\ntests: file://cases.xlsx\n")
    with pytest.raises(Exception, match="No importer reads .xlsx"):
        check_file(tmp_path / "other.yaml", Preflight(models, plugins), need_models=False)
    models.close()
