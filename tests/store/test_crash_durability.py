"""SIGKILL at random moments: the database stays whole and keeps every reported commit."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

from tests.store.conftest import populate
from workbench.core.runs import Output
from workbench.core.sessions import Draft
from workbench.store import Store

KILLS = 120


def _writer(path, variant_id, run_id, report) -> None:
    """In a child process: commit outputs one per transaction, reporting each id after commit."""
    store = Store.open(path)
    n = 0
    while True:
        n += 1
        output = store.runs.add_output(Output(run_id, variant_id, None, f"text {n} " * 20))
        report.send_bytes(output.id.encode())


def _draft_writer(path, session_id) -> None:
    """In a child process: save a draft, then die as a crash would."""
    Store.open(path).drafts.save(Draft(session_id, "composer", {"system": "half-written idea"}))
    os.kill(os.getpid(), signal.SIGKILL)


def _children():
    # Not os.fork: pytest's process has threads (SQLite, model hosts), and a fork copies
    # their locks mid-use. A fork server forks from a clean, single-threaded process instead.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _received(pipe) -> list[str]:
    ids = []
    try:
        while pipe.poll(0):
            ids.append(pipe.recv_bytes().decode())
    except (EOFError, OSError):
        pass  # the child was killed mid-message
    return ids


def test_random_sigkills_lose_no_reported_commit(tmp_path):
    path = tmp_path / "crash.sqlite3"
    store = Store.open(path)
    data = populate(store)
    store.close()
    variant_id, run_id = data.run.variants[0].id, data.run.id
    rng = random.Random(1234)
    reported: list[str] = []
    runs_with_commits = 0
    context = _children()
    for _ in range(KILLS):
        read_end, write_end = context.Pipe(duplex=False)
        child = context.Process(target=_writer, args=(path, variant_id, run_id, write_end))
        child.start()
        write_end.close()
        # Wait for the first commit (however busy the machine is), then kill at a random
        # moment while the child keeps writing: mid-transaction, mid-commit, between.
        read_end.poll(30)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        ids = [i for i in _received(read_end) if len(i) == 36]
        read_end.close()
        reported += ids
        runs_with_commits += bool(ids)
    assert runs_with_commits == KILLS, "a writer never got to commit"

    store = Store.open(path)
    assert store.db.integrity_check() == "ok"
    stored = {o.id for o in store.runs.outputs(run_id)}
    missing = [i for i in reported if i not in stored]
    assert missing == []
    assert len(stored) >= len(reported) + len(data.outputs) // 2
    store.close()


def test_a_draft_survives_a_crash(tmp_path):
    path = tmp_path / "drafts.sqlite3"
    store = Store.open(path)
    session = populate(store).session
    store.close()
    child = _children().Process(target=_draft_writer, args=(path, session.id))
    child.start()
    child.join()
    assert child.exitcode == -signal.SIGKILL  # it died, as a crash would, after saving
    reopened = Store.open(path)
    assert reopened.drafts.get(session.id, "composer").content == {"system": "half-written idea"}
    reopened.close()
