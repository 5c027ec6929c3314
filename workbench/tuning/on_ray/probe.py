"""Before any Ray is imported: is the extra installed, and does a cluster address answer.

A wrong address must be a clear sentence in seconds: Ray's own client retries for much longer,
so the host and port are tried with a plain TCP connection first.
"""

from __future__ import annotations

import importlib.util
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ...core.tuning_errors import TuneConfigError, TuningError

INSTALL_HINT = ("Ray is not installed: install the extra with "
                "`pip install 'prompt-workbench[ray]'` (or `make test`, which installs it).")
LOCAL = ("", "local")  # a Ray started for the job on this machine
IN_CLUSTER = "auto"  # Ray's own word: the cluster this process runs in (a submitted job)
CLIENT, GCS, JOBS = "client", "gcs", "jobs"
CLIENT_PORT, GCS_PORT, JOBS_PORT = 10001, 6379, 8265
DEFAULT_PORTS = {CLIENT: CLIENT_PORT, GCS: GCS_PORT, JOBS: JOBS_PORT}
CONNECT_TIMEOUT_S = 3.0


def ray_version() -> str | None:
    """The installed Ray's version, or None (its metadata only: nothing is imported)."""
    if importlib.util.find_spec("ray") is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ray")
    except PackageNotFoundError:
        return None


def require_ray() -> str:
    version = ray_version()
    if version is None:
        raise TuningError(INSTALL_HINT)
    return version


@dataclass(frozen=True)
class Address:
    text: str  # as the user wrote it
    host: str
    port: int
    kind: str  # CLIENT (ray://, the Ray Client), GCS (HOST:6379) or JOBS (http://, Ray Jobs)

    client = property(lambda self: self.kind == CLIENT)
    jobs = property(lambda self: self.kind == JOBS)


def parse_address(text: str) -> Address | None:
    """None for a local Ray (or ``auto``: the cluster this process runs in, as inside a
    submitted Ray job); else host, port and which of Ray's three doors it is."""
    text = (text or "").strip()
    if text in LOCAL or text == IN_CLUSTER:
        return None
    kind = (JOBS if text.startswith(("http://", "https://"))
            else CLIENT if text.startswith("ray://") else GCS)
    parts = urlsplit(text if kind != GCS else f"ray://{text}")
    try:
        port = parts.port or DEFAULT_PORTS[kind]
    except ValueError:
        port = 0
    if not parts.hostname or not port or (kind == JOBS and parts.path.strip("/")):
        raise TuneConfigError(f"'{text}' is not a Ray address (ray://HOST:{CLIENT_PORT}, "
                              f"HOST:{GCS_PORT} or a Ray Jobs address http://HOST:{JOBS_PORT}).")
    return Address(text, parts.hostname, port, kind)


def check_reachable(text: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise TuningError, naming the address and the reason, when nothing listens there."""
    address = parse_address(text)
    if address is None:
        return
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout_s):
            return
    except OSError as error:
        reason = ("no answer" if isinstance(error, TimeoutError)
                  else (error.strerror or str(error)).lower())
        raise TuningError(
            f"Cannot reach the Ray cluster at {address.text} ({reason}). On the cluster's "
            f"head node, `ray start --head` starts it (the Ray Client listens on port "
            f"{CLIENT_PORT}, Ray Jobs on {JOBS_PORT}); check the host, the port and the "
            f"firewall.") from None


# Room for the Ray Client's own retry (client_connect: a server that dies while starting
# costs Ray's 30 s channel wait before the next try); an address that takes no connection at
# all is told in CONNECT_TIMEOUT_S by check_reachable.
CLUSTER_TIMEOUT_S = 150.0


def cluster_resources(text: str, timeout_s: float = CLUSTER_TIMEOUT_S) -> dict:
    """What the cluster at ``text`` has ({"nodes": N, "CPU": …, "GPU": …, "memory_gib": …}),
    asked by a child process (connecting leaves Ray state behind in a process)."""
    import json
    import subprocess
    import sys

    check_reachable(text)
    try:
        done = subprocess.run([sys.executable, "-m", "workbench.tuning.on_ray.cluster_info", text],
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise TuningError(f"The Ray cluster at {text} did not answer in "
                          f"{timeout_s:.0f} s.") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TuningError(f"Cannot connect to the Ray cluster at {text}: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])
