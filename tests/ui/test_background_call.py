"""BackgroundCall tells its answer in the GUI thread, once the code that started it has
returned: a slot connected just after ``start`` hears even a call that ended at once. (The
compare panel connects its own failure slot after ``_call`` starts the call; a re-check
refused in microseconds was told before that slot existed, and its button stayed disabled.)"""

from __future__ import annotations

import threading

from workbench.core.errors import WorkbenchError
from workbench.ui.job_bridges import BackgroundCall, background_calls_in_flight


def refuse():
    raise WorkbenchError("Nothing was run: refused at once.")


def test_a_call_that_failed_before_anyone_listened_is_still_told(qtbot):
    before = background_calls_in_flight()
    call = BackgroundCall(refuse).start()
    call.thread.join()  # ended (and reported) before the slot below is connected
    failures, successes = [], []
    call.failed.connect(failures.append)
    call.succeeded.connect(successes.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=5_000)
    assert failures == ["Nothing was run: refused at once."] and successes == []
    assert background_calls_in_flight() == before  # told, then let go


def test_an_answer_is_told_in_the_gui_thread_to_every_slot(qtbot):
    call = BackgroundCall(lambda: threading.current_thread().name).start()
    call.thread.join()
    told = []
    call.succeeded.connect(lambda worker: told.append((worker, threading.current_thread())))
    qtbot.waitUntil(lambda: bool(told), timeout=5_000)
    ((worker, receiver),) = told
    assert worker == "gui-background" and receiver is threading.main_thread()
