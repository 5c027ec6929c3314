"""The variants table belongs to the session, like its prompt: typed in, it is saved; another
session shows its own rows (a new one the defaults); a restart shows them again. And saving an
unchanged prompt (Save version, Run) adds no version."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from workbench.core.runs import RunStatus
from workbench.ui import sessions_panel
from workbench.ui.compare.variants_table import ENGINE_COLUMN, SAMPLING_COLUMN

LABEL, TEMPERATURE, SEED, MAX_TOKENS = 0, 5, 6, 7


def retype(qtbot, widget, text: str) -> None:
    """Select what the cell holds and type over it, as a user does."""
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widget, text)


def cell(window, row: int, column: int):
    return window.compare.variants.table.cellWidget(row, column)


def labels(window) -> list[str]:
    return [v.label for v in window.compare.variants.rows()]


def stored(window, session_id: str):
    return window.services.store.session_variants.get(session_id)


def click_session(qtbot, window, session_id: str) -> None:
    panel = window.sessions_panel
    item = next(panel.list.item(i) for i in range(panel.list.count())
                if panel.list.item(i).data(Qt.ItemDataRole.UserRole) == session_id)
    rect = panel.list.visualItemRect(item)
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def new_session(qtbot, window, monkeypatch, name: str) -> str:
    monkeypatch.setattr(sessions_panel.QInputDialog, "getText", lambda *a, **k: (name, True))
    qtbot.mouseClick(window.sessions_panel.new_button, Qt.MouseButton.LeftButton)
    assert window.workspace.session.name == name
    return window.workspace.session.id


def test_variants_are_kept_per_session_and_across_a_restart(qtbot, app_services, monkeypatch):
    window = make_window(qtbot, app_services)
    first = new_session(qtbot, window, monkeypatch, "Sentiment")
    assert labels(window) == ["Greedy", "Creative"]
    qtbot.mouseClick(window.compare.variants.add_button, Qt.MouseButton.LeftButton)
    retype(qtbot, cell(window, 2, LABEL), "Warm")
    retype(qtbot, cell(window, 2, TEMPERATURE), "0.4")
    retype(qtbot, cell(window, 2, SEED), "7")
    retype(qtbot, cell(window, 2, MAX_TOKENS), "32")
    retype(qtbot, cell(window, 2, SAMPLING_COLUMN), "--top-k 5")
    retype(qtbot, cell(window, 2, ENGINE_COLUMN), "-fa off")
    typed = window.compare.variants.rows()
    warm = typed[2]
    assert (warm.label, warm.temperature, warm.seed, warm.max_tokens, warm.sampling_flags,
            warm.engine_flags) == ("Warm", 0.4, 7, 32, "--top-k 5", "-fa off")
    qtbot.waitUntil(lambda: stored(window, first) == typed, timeout=10_000)  # after a pause

    second = new_session(qtbot, window, monkeypatch, "Other")
    assert labels(window) == ["Greedy", "Creative"]  # not the previous session's rows
    retype(qtbot, cell(window, 0, LABEL), "Other's greedy")

    click_session(qtbot, window, first)
    assert window.workspace.session.id == first
    assert window.compare.variants.rows() == typed
    assert stored(window, second)[0].label == "Other's greedy"  # saved on leaving it
    window.close()

    reopened = make_window(qtbot, app_services)  # a restart on the same database
    assert reopened.workspace.session.id == first
    assert reopened.compare.variants.rows() == typed
    click_session(qtbot, reopened, second)
    assert labels(reopened) == ["Other's greedy", "Creative"]


def test_run_saves_the_variants_and_an_unchanged_prompt_adds_no_version(
        qtbot, main_window, monkeypatch):
    window = main_window
    session_id = new_session(qtbot, window, monkeypatch, "Capitals")
    qtbot.keyClicks(window.composer.system_edit, "Answer with the capital city only.")
    qtbot.keyClicks(window.composer.template_edit, "{{ country }}")
    window.composer.set_cases([({"country": "Spain"}, None)])
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert len(window.workspace.history) == 1
    qtbot.keyClicks(window.note_edit, "same text, a note only")
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert len(window.workspace.history) == 1  # nothing the model sees changed

    for row in range(2):
        retype(qtbot, cell(window, row, MAX_TOKENS), "4")
    retype(qtbot, cell(window, 1, LABEL), "Creative, short")
    with qtbot.waitSignal(window.compare.run_finished, timeout=120_000) as done:
        qtbot.mouseClick(window.compare.run_button, Qt.MouseButton.LeftButton)
        # saved as the run starts, whatever the pause-in-typing timer was doing
        assert stored(window, session_id) == window.compare.variants.rows()
    assert done.args[0] is RunStatus.DONE
    assert [v.label for v in window.compare.run.variants] == ["Greedy", "Creative, short"]
    assert len(window.services.store.prompts.history(window.workspace.prompt.id)) == 1


def test_a_session_saved_before_variants_were_kept_shows_its_last_runs(qtbot, app_services):
    from tests.store.conftest import populate
    from workbench.ui.compare.variants_table import CURRENT

    data = populate(app_services.store, "Older")
    app_services.store.session_variants.save(data.session.id, [])  # as revision 0002 left it
    window = make_window(qtbot, app_services, wait_for_model=False)
    click_session(qtbot, window, data.session.id)
    assert window.workspace.session.id == data.session.id
    table = window.compare.variants
    rows = table.rows()
    assert [(r.label, r.version, r.model) for r in rows] == [
        ("v1", data.versions[0].id, "/models/smol.gguf"), ("v2", CURRENT, "/models/smol.gguf")]
    assert [table.sampling(row) for row in range(2)] == [
        v.sampling for v in data.run.variants]
