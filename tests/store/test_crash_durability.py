"""SIGKILL at random moments: the database stays whole and keeps every reported commit."""

from __future__ import annotations

import os
import random
import select
import signal
import time

from tests.store.conftest import populate
from workbench.core.runs import Output
from workbench.core.sessions import Draft
from workbench.store import Store

KILLS = 120


def _writer(path, variant_id, run_id, report_fd) -> None:
    """In a forked child: commit outputs one per transaction, reporting each id after commit."""
    try:
        store = Store.open(path)
        n = 0
        while True:
            n += 1
            output = store.runs.add_output(Output(run_id, variant_id, None, f"text {n} " * 20))
            os.write(report_fd, (output.id + "\n").encode())
    finally:
        os._exit(1)


def test_random_sigkills_lose_no_reported_commit(tmp_path):
    path = tmp_path / "crash.sqlite3"
    store = Store.open(path)
    data = populate(store)
    store.close()
    variant_id, run_id = data.run.variants[0].id, data.run.id
    rng = random.Random(1234)
    reported: list[str] = []
    runs_with_commits = 0
    for _ in range(KILLS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _writer(path, variant_id, run_id, write_fd)
        os.close(write_fd)
        # Wait for the first commit (however busy the machine is), then kill at a random
        # moment while the child keeps writing: mid-transaction, mid-commit, between.
        first = b""
        ready, _, _ = select.select([read_fd], [], [], 30)
        if ready:
            first = os.read(read_fd, 37)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read_fd, "rb") as pipe:
            ids = [line.decode() for line in (first + pipe.read()).splitlines()
                   if len(line) == 36]
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
    pid = os.fork()
    if pid == 0:
        child = Store.open(path)
        child.drafts.save(Draft(session.id, "composer", {"system": "half-written idea"}))
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    reopened = Store.open(path)
    assert reopened.drafts.get(session.id, "composer").content == {"system": "half-written idea"}
    reopened.close()
