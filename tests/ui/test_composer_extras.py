"""Composer details: imports, paste, fork, re-run, layout memory, the empty prompt."""

from __future__ import annotations

import json

from PySide6.QtGui import QGuiApplication

from tests.ui.conftest import make_window
from tests.ui.test_workbench import compose, run_and_wait, set_variants


def test_import_examples_reports_malformed_rows_by_line(main_window, tmp_path):
    file = tmp_path / "examples.jsonl"
    file.write_text("\n".join([
        json.dumps({"prompt": "2+2", "completion": "4"}),
        "{not json",
        json.dumps({"prompt": "3+3", "completion": "6"}),
        json.dumps(["a list"]),
    ]))
    main_window.composer.import_examples(str(file))
    examples = main_window.composer.examples.examples()
    assert [(e.input, e.output) for e in examples] == [("2+2", "4"), ("3+3", "6")]
    message = main_window.composer.banner.text
    assert "Imported 2 examples" in message and "left out 2" in message
    assert "line 2: not valid JSON" in message and "line 4: not a JSON object" in message


def test_import_and_paste_test_cases(main_window, tmp_path):
    compose(main_window, cases=())
    file = tmp_path / "cases.csv"
    file.write_text("country,expected\nSpain,Madrid\nPeru,Lima\n")
    main_window.composer.import_cases(str(file))
    QGuiApplication.clipboard().setText("Chile\tSantiago\nJapan\tTokyo\n")
    main_window.composer.cases.paste()
    rows = main_window.composer.cases.rows()
    assert rows == [({"country": "Spain"}, "Madrid"), ({"country": "Peru"}, "Lima"),
                    ({"country": "Chile"}, "Santiago"), ({"country": "Japan"}, "Tokyo")]


def test_fork_starts_a_new_session_from_a_version(main_window):
    compose(main_window)
    version = main_window.save_version("base")
    original = main_window.workspace.session.id
    main_window.history_panel.select_numbers(1)
    main_window.history_panel.fork_button.click()
    assert main_window.workspace.session.id != original
    assert "(fork)" in main_window.workspace.session.name
    forked = main_window.workspace.latest
    assert forked.content_hash == version.content_hash and "forked from" in forked.note
    assert len(main_window.composer.cases.rows()) == 2


def test_rerun_a_cell_with_the_same_seed_reproduces_it(main_window, qtbot):
    compose(main_window, cases=("Spain",))
    set_variants(main_window, ("warm", 0.9, 16))
    run_and_wait(qtbot, main_window)
    cell = next(iter(main_window.compare.cells.values()))
    before = cell.text.toPlainText()
    with qtbot.waitSignal(main_window.compare.run_finished, timeout=60_000):
        cell.rerun.click()
    assert cell.text.toPlainText() == before
    outputs = main_window.services.store.runs.outputs(main_window.compare.run.id)
    assert len(outputs) == 2 and outputs[0].text == outputs[1].text


def test_an_empty_prompt_is_explained_in_the_cells(main_window, qtbot):
    main_window.composer.set_cases([({"x": "1"}, None)])
    set_variants(main_window, ("only", 0.0, 4))
    run_and_wait(qtbot, main_window)
    cell = next(iter(main_window.compare.cells.values()))
    assert "The prompt is empty" in cell.error.text()


def test_layout_is_remembered_between_runs(qtbot, app_services):
    window = make_window(qtbot, app_services)
    window.splitter.setSizes([200, 500])
    top = window.splitter.sizes()[0]
    window.close()  # saves the layout
    assert window.settings.value("geometry") is not None
    assert window.settings.value("splitter/main-splitter") is not None
    again = make_window(qtbot, app_services)
    assert again.splitter.sizes()[0] == top  # the bottom pane takes what the height leaves
