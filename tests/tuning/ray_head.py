"""A real Ray head on 127.0.0.1 for one test module: 2 CPUs, stopped at the module's end.

The head is a Python process that calls ``ray.init`` with a local cluster and waits: the same
head node ``ray start --head --num-cpus 2`` starts, reached by the tune driver through its GCS
address like any cluster. It is ended by its own pid (SIGTERM → ray.shutdown stops the
node's processes), never with ``ray stop``, which ends every Ray on the machine.

``running_cli_head`` is the head a user starts, ``ray start --head --block``, with its three
doors open: the GCS, the Ray Client server (``ray://``) and the dashboard with Ray Jobs
(``http://``), every port a free one (other Rays may run on this machine).
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
from dataclasses import dataclass
from pathlib import Path

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


# Started in every process of the head (PYTHONPATH): the next Ray Client server the head's
# proxy starts dies at once while the file FAIL_NEXT is there (the child that
# ray-project/ray#63202 kills now and then). The first to take the file dies; the rest run.
FAULT_SITE = r"""
import os
from pathlib import Path

def _fail_if_asked():
    if b"--mode=specific-server" not in Path("/proc/self/cmdline").read_bytes():
        return
    fault = Path(__file__).with_name("FAIL_NEXT")
    try:
        fault.rename(fault.with_name("FAILED"))
    except OSError:
        return
    os._exit(1)

_fail_if_asked()
"""


@dataclass(frozen=True)
class CliHead:
    gcs: str  # HOST:PORT
    client: str  # ray://HOST:PORT
    jobs: str  # http://HOST:PORT
    process: subprocess.Popen
    fault_dir: str  # FAULT_SITE as sitecustomize.py

    def fail_next_client_server(self) -> None:
        Path(self.fault_dir, "FAIL_NEXT").touch()

    def client_servers_failed(self) -> int:
        """1 once a server took the fault, 0 while the fault waits."""
        return int(Path(self.fault_dir, "FAILED").exists())

    def kill(self) -> None:
        """The head node dies: SIGKILL to every process of it (its own process group: the
        ``ray start`` process, the GCS, the raylet, the dashboard, the workers)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def running_cli_head(num_cpus: int = 2) -> Iterator[CliHead]:
    """``ray start --head --block`` with the Ray Client server and Ray Jobs, while the block
    runs. Its PATH starts with this Python's folder: a submitted job's ``python`` is the one
    with the workbench installed, as on a cluster set up as docs/tuning.md says."""
    gcs, client, jobs, *agent = free_ports(6)
    bin_dir = os.path.dirname(sys.executable)
    fault_dir = tempfile.TemporaryDirectory(prefix="ray-head-faults-")
    Path(fault_dir.name, "sitecustomize.py").write_text(FAULT_SITE)
    python_path = os.pathsep.join(p for p in (fault_dir.name, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "OMP_WAIT_POLICY": "PASSIVE",
           "RAY_AUTH_MODE": "disabled", "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
           "PYTHONPATH": python_path}
    log = tempfile.TemporaryFile("w+")
    command = [os.path.join(bin_dir, "ray"), "start", "--head", "--block",
               "--node-ip-address", "127.0.0.1", "--port", str(gcs),
               "--num-cpus", str(num_cpus), "--ray-client-server-port", str(client),
               "--include-dashboard", "true", "--dashboard-host", "127.0.0.1",
               "--dashboard-port", str(jobs), "--dashboard-agent-listen-port", str(agent[0]),
               "--dashboard-agent-grpc-port", str(agent[1]),
               "--metrics-export-port", str(agent[2]), "--disable-usage-stats"]
    head = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    address = CliHead(f"127.0.0.1:{gcs}", f"ray://127.0.0.1:{client}",
                      f"http://127.0.0.1:{jobs}", head, fault_dir.name)
    try:
        if not _answers(head, [gcs, client, jobs], f"{address.jobs}/api/version"):
            log.seek(0)
            raise RuntimeError(f"the Ray head did not start: {log.read()[-3000:]}")
        yield address
    finally:
        _stop_group(head)
        log.close()
        fault_dir.cleanup()


def _stop_group(head: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM to the head's process group (``ray start --block`` itself dies at once on it,
    leaving the GCS and the raylet behind; each of them stops cleanly on its own SIGTERM),
    then SIGKILL to whatever of the group is left after the grace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            break  # nothing of the group is left
        deadline = time.monotonic() + grace_s
        while sig == signal.SIGTERM and time.monotonic() < deadline:
            head.poll()  # the leader reaped: a zombie would count as alive
            if not _group_alive(head.pid):
                break
            time.sleep(0.5)
    head.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def _answers(head: subprocess.Popen, ports: list[int], url: str) -> bool:
    """Every port takes connections and the dashboard answers, before START_TIMEOUT_S."""
    import socket
    import urllib.request

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and head.poll() is None:
        try:
            for port in ports:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1.0)
    return False


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
