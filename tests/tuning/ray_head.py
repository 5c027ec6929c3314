"""A real Ray head on 127.0.0.1 for one test module: 2 CPUs, stopped at the module's end.

The head is a Python process that calls ``ray.init`` with a local cluster and waits: the same
head node ``ray start --head --num-cpus 2`` starts, reached by the tune driver through its GCS
address like any cluster. It is ended by its own pid (SIGTERM → ray.shutdown stops the
node's processes), never with ``ray stop``, which ends every Ray on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

HEAD = r"""
import signal, sys, ray
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # atexit runs ray.shutdown
ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
         _node_ip_address="127.0.0.1")
print(ray.get_runtime_context().gcs_address, flush=True)
signal.pause()
"""
START_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def ray_head():
    """The head's GCS address (HOST:PORT); skipped only when Ray is not installed."""
    pytest.importorskip("ray", reason="the ray extra is not installed (make test installs it)")
    with running_head() as address:
        yield address


@contextmanager
def running_head() -> Iterator[str]:
    """A Ray head with 2 CPUs while the block runs (the fixture; tests/bench/bench_tune_ray)."""
    # A head that ray.init starts guards its GCS with a token only its own processes hold;
    # `ray start --head` (the cluster a user runs) has none, and neither has this one.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "OMP_WAIT_POLICY": "PASSIVE",
           "RAY_AUTH_MODE": "disabled"}
    log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a full pipe would stall the head
    head = subprocess.Popen([sys.executable, "-c", HEAD], stdout=subprocess.PIPE, stderr=log,
                            env=env, text=True, start_new_session=True)
    try:
        address = _first_line(head, START_TIMEOUT_S)
        if not address:
            log.seek(0)
            raise RuntimeError(f"the Ray head did not start: {log.read()[-2000:]}")
        yield address
    finally:
        _stop(head)
        log.close()


def _first_line(head: subprocess.Popen, timeout_s: float) -> str:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(head.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and head.poll() is None:
        if selector.select(timeout=1.0):
            return head.stdout.readline().strip()
    return ""


def _stop(head: subprocess.Popen) -> None:
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)  # its own session: the head and its node
            head.wait()
