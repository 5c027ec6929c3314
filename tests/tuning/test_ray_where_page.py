"""The wizard's Settings page, *Where*: a Ray cluster chosen as a user would, the estimate per
worker with the effective batch, and a cluster that does not answer said on the Train page."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from .helpers import write_chat_jsonl
from .test_tune_wizard import window  # noqa: F401 - the real main window (a fixture)

pytest.importorskip("pytestqt")


def test_ray_chosen_on_the_settings_page_estimates_per_worker_and_refuses_a_dead_address(
        qtbot, tmp_path, window):  # noqa: F811
    pytest.importorskip("ray", reason="the ray extra is not installed")
    wizard = window.tune.open_wizard()
    try:
        qtbot.waitUntil(lambda: wizard.base is not None, timeout=30_000)
        wizard.next()
        with qtbot.waitSignal(wizard.data_page.planned, timeout=30_000):
            wizard.data_page.import_files([str(write_chat_jsonl(tmp_path / "d.jsonl"))])
        wizard.next()

        settings = wizard.settings_page
        settings.max_steps.setValue(3)
        settings.batch.setValue(4)
        where = settings.where
        assert not where.address.isVisibleTo(settings)  # this machine: no Ray rows
        assert "per worker" not in settings.estimate.text()
        where.place.setFocus()
        qtbot.keyClick(where.place, Qt.Key.Key_Down)  # "A Ray cluster"
        assert where.address.isVisibleTo(settings)
        qtbot.keyClicks(where.address, "ray://127.0.0.1:9")  # discard: nothing listens
        where.workers.selectAll()
        qtbot.keyClicks(where.workers, "2")
        assert "per worker (2 workers, effective batch 8)" in settings.estimate.text()
        assert wizard.config().where.address == "ray://127.0.0.1:9"
        wizard.next()

        train = wizard.train_page
        qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Cannot reach the Ray cluster" in train.status.text(),
                        timeout=60_000)
        assert wizard.job is None and window.services.store.jobs.list() == []
    finally:
        wizard.close()


def test_without_ray_the_choice_says_how_to_get_it(qtbot):
    from workbench.ui.tune.where_box import WhereBox

    box = WhereBox(ray_version=None)  # what the page builds when Ray is not installed
    qtbot.addWidget(box)
    assert not box.place.model().item(1).isEnabled()
    assert "pip install 'prompt-workbench[ray]'" in box.note.text()
    assert box.where().place == "local"
