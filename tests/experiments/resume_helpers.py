"""Running the real ``workbench`` command and killing it with SIGKILL once a step is marked in
its experiment folder's progress file (polled, no timing assumed); the quantization lab's child
processes this test process has running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def workbench(*args: str) -> subprocess.CompletedProcess:
    # env carries this test's WORKBENCH_HOME (tests/conftest.py), a fresh temporary folder
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=600, env=os.environ.copy(), check=False)


def progress_of(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not written yet


def kill_when(args: list[str], kind: str, home: Path, ready: Callable[[list[dict]], bool],
              log: Path) -> tuple[Path, dict]:
    """Start ``workbench *args``, poll its experiment folder's progress file until ``ready``
    says yes to its steps, then SIGKILL the process. Returns the folder and the progress as
    it was at the kill."""
    parent = home / "data" / "experiments"
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-m", "workbench", *args], stdout=output,
                                   stderr=subprocess.STDOUT, env=os.environ.copy())
        try:
            deadline = time.monotonic() + 600  # a guard against a hang, not a measurement
            while time.monotonic() < deadline:
                folders = sorted(parent.glob(f"*-{kind}")) if parent.is_dir() else []
                progress = progress_of(folders[-1]) if folders else None
                if progress is not None and ready(progress["steps"]):
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    return folders[-1], progress
                assert process.poll() is None, (
                    f"the command ended (exit {process.returncode}) before the step to kill "
                    f"at:\n{log.read_text()}")
                time.sleep(0.05)
            raise AssertionError(f"no such step within the guard time:\n{log.read_text()}")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def steps(progress: dict, step: str) -> dict[str, dict]:
    return {record["key"]: record for record in progress["steps"] if record["step"] == step}


def lab_children(kind: str = "measure") -> list[int]:
    """The pids of this process's quantization lab children of ``kind`` (measure, quantize)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("PPid:")), None)
        if parent == os.getpid() and f"workbench.engine.quantlab.{kind}".encode() in command:
            found.append(int(entry.name))
    return found
