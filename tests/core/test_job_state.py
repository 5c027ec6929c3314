"""The one job state every long piece of work reports through."""

from __future__ import annotations

import threading

from workbench.core.job_state import CANCELLED, DONE, FAILED, JobState, JobWatcher


def test_progress_partials_and_the_end_reach_watchers_before_done_is_set():
    state = JobState("work")
    seen = []
    state.watch(JobWatcher(
        on_progress=lambda p: seen.append(("progress", p.done, p.total, p.fraction)),
        on_partial=lambda item: seen.append(("partial", item)),
        on_finished=lambda s: seen.append(("finished", s.status, s.outcome, s.done.is_set()))))
    state.set_progress(1, 4, "cells")
    state.add_partial("a token")
    state.finish(42)
    state.fail("too late")  # the first end stands
    assert seen == [("progress", 1, 4, 0.25), ("partial", "a token"),
                    ("finished", DONE, 42, False)]
    assert state.done.is_set() and state.status == DONE and state.error is None


def test_a_cancel_runs_the_work_s_hooks_once_and_the_end_says_cancelled():
    state = JobState()
    stopped = []
    state.on_cancel(lambda: stopped.append("stream"))
    state.cancel()
    state.on_cancel(lambda: stopped.append("late hook runs at once"))
    assert stopped == ["stream", "late hook runs at once"] and state.cancelled
    state.finish("partial result")
    assert state.status == CANCELLED and state.outcome == "partial result"


def test_watching_an_ended_job_tells_at_once_and_waiting_works_across_threads():
    state = JobState()
    threading.Timer(0.05, lambda: state.fail("broke")).start()
    assert state.wait(5) and state.status == FAILED and state.error == "broke"
    told = []
    state.watch(JobWatcher(on_finished=lambda s: told.append(s.error)))
    assert told == ["broke"]
