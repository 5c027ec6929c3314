"""``workbench docs`` and ``workbench tune`` start the plugins as every command does: an
engine plugin loads their models (the embedding model, the base model's tokenizer), an
importer plugin's table format is training data; ``--safe-mode`` loads none of them."""

from __future__ import annotations

import sys

from tests.plugins.conftest import install
from tests.tuning.test_tune_cli import CONFIG
from workbench.cli.main import main

ENGINE = "workbench_plugin_engine_plugin"  # tests/plugins/sample_plugins/engine_plugin.py
FACTS = ("prompt | completion\n"
         "What is Zorblax? | A made-up fruit.\n"
         "Where does Zorblax grow? | On the moons of Quendor.\n"
         "Who named Zorblax? | Nobody knows.\n"
         "a row | with | three cells\n"
         "Is Zorblax sweet? | Very.\n")  # .psv: tests/plugins/sample_plugins/pipe_table.py


def test_workbench_docs_add_embeds_through_an_engine_plugin(tmp_path, bundled_model, capsys):
    install("engine_plugin")
    (tmp_path / "fog.md").write_text("Ferries stop when the fog is thicker than 200 metres.")
    before = sys.modules.get(ENGINE)  # a plugin module is loaded anew by each start

    assert main(["--safe-mode", "docs", "add", "plain", str(tmp_path)]) == 0
    assert "1 added" in capsys.readouterr().out
    assert sys.modules.get(ENGINE) is before  # safe mode: the plugin was not loaded

    assert main(["docs", "add", "hooked", str(tmp_path)]) == 0
    assert "1 added" in capsys.readouterr().out
    plugin = sys.modules[ENGINE]
    assert plugin is not before
    assert plugin.LOADED == [str(bundled_model)]  # the embedding host came from the plugin
    assert main(["docs", "search", "hooked", "fog ferries", "--mode", "dense"]) == 0
    assert "fog.md" in capsys.readouterr().out


def test_workbench_tune_reads_training_data_through_an_importer_plugin(tmp_path, bundled_model,
                                                                      capsys):
    install("pipe_table", "engine_plugin")
    (tmp_path / "data.psv").write_text(FACTS)
    config = tmp_path / "tune.toml"
    config.write_text(CONFIG.format(model=bundled_model).replace("data.jsonl", "data.psv"))

    assert main(["--safe-mode", "tune", "--check", str(config)]) == 1
    err = capsys.readouterr().err
    assert "Cannot read data.psv" in err and "No importer reads .psv files" in err

    assert main(["tune", "--check", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "data: 4 training rows, 0 held out, 1 skipped" in out
    assert "skipped data.psv:5: 3 cells, the header has 2" in err  # the plugin's own problem
    # the base model's tokenizer (llama.cpp's) was loaded by the engine plugin too
    assert sys.modules[ENGINE].LOADED == [str(bundled_model)]


def test_the_tune_wizard_offers_and_imports_an_importer_plugins_table(qtbot, tmp_path,
                                                                      monkeypatch):
    from PySide6.QtCore import Qt

    from tests.plugins.test_plugins_gui import services_with_plugins
    from tests.ui.conftest import make_window
    from workbench.ui.tune import tune_pages

    path = tmp_path / "facts.psv"
    path.write_text(FACTS)
    offered = []
    monkeypatch.setattr(tune_pages.QFileDialog, "getOpenFileNames", lambda *args: (
        offered.append(args[-1]), ([str(path)], ""))[1])
    services = services_with_plugins("pipe_table")
    try:
        window = make_window(qtbot, services)
        wizard = window.tune.open_wizard()
        try:
            qtbot.waitUntil(lambda: wizard.base is not None, timeout=30_000)
            wizard.next()
            page = wizard.data_page
            with qtbot.waitSignal(page.planned, timeout=60_000):
                qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
            assert "*.psv" in offered[0] and "*.jsonl" in offered[0]
            assert page.isComplete(), page.summary.text()
            assert "4 examples" in page.summary.text() and "1 left out" in page.summary.text()
            assert page.problems.item(0).text() == "facts.psv:5: 3 cells, the header has 2"
        finally:
            wizard.close()
    finally:
        window.compare.stop()
        services.models.close()
        services.store.close()
