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
CLIENT_PORT, GCS_PORT = 10001, 6379
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
    text: str  # as the user wrote it; what ray.init gets
    host: str
    port: int
    client: bool  # ray://: the Ray Client; else the cluster's GCS address (ray start --head)


def parse_address(text: str) -> Address | None:
    """None for a local Ray; else host and port. A Ray Jobs (dashboard) URL is refused with
    what to give instead."""
    text = (text or "").strip()
    if text in LOCAL:
        return None
    if text.startswith(("http://", "https://")):
        raise TuneConfigError(
            f"{text} is a Ray Jobs (dashboard) address; give the cluster's client address "
            f"ray://HOST:{CLIENT_PORT} (or HOST:{GCS_PORT} from inside the cluster).")
    client = text.startswith("ray://")
    parts = urlsplit(text if client else f"ray://{text}")
    try:
        port = parts.port or (CLIENT_PORT if client else GCS_PORT)
    except ValueError:
        raise TuneConfigError(f"'{text}' is not a Ray address (ray://HOST:PORT or "
                              f"HOST:PORT).") from None
    if not parts.hostname:
        raise TuneConfigError(f"'{text}' is not a Ray address (ray://HOST:PORT or HOST:PORT).")
    return Address(text, parts.hostname, port, client)


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
            f"{CLIENT_PORT}); check the host, the port and the firewall.") from None


CLUSTER_TIMEOUT_S = 60.0


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
