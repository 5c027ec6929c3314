"""The trainer process: ``python -m workbench.tuning.trainer JOB_FOLDER``.

Stdout is the protocol (one JSON event per line, see progress.py): fd 1 is moved to stderr at
start, so whatever torch or transformers print lands in trainer.log, never in the event
stream. SIGTERM asks for a clean stop: the current step ends, a checkpoint is written, and the
process says "cancelled". Exit codes: 0 done or cancelled, 2 a refused input, 3 out of memory,
1 anything else.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from ...core.errors import WorkbenchError
from ..job_files import JobFolder
from ..progress import TrainerEvent


def event_emitter(stop) -> Callable[[TrainerEvent], None]:
    """Writes each event as a line on a private copy of stdout (fd 1 itself now points at
    stderr, so a library's prints never mix with events); once the app is gone (the pipe
    breaks), asks ``stop`` to end the job at its step, the checkpoints on disk being what
    matters then. Shared by the local trainer and the Ray driver."""
    sys.stdout.flush()
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(event: TrainerEvent) -> None:
        try:
            events.write(event.encode() + "\n")
            events.flush()
        except OSError:
            stop.requested = True

    return emit


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    text = str(error).lower()
    return type(error).__name__ == "OutOfMemoryError" or any(
        marker in text for marker in ("out of memory", "can't allocate memory",
                                      "cannot allocate memory"))


def _watch_parent(stop) -> None:
    """If the app dies, stop at the end of the step with a checkpoint, so that resuming
    continues from there (the trainer runs in its own session and would otherwise go on)."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.requested:
            if os.getppid() != parent:
                stop.requested = True
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m workbench.tuning.trainer JOB_FOLDER", file=sys.stderr)
        return 2
    from .train_loop import Stop, train

    emit = event_emitter(Stop)

    signal.signal(signal.SIGTERM, lambda *_: setattr(Stop, "requested", True))
    _watch_parent(Stop)
    folder = JobFolder(Path(argv[1]))
    try:
        train(folder, folder.read_spec(), emit)
    except WorkbenchError as error:
        emit(TrainerEvent("error", 0, {"kind": "config", "message": str(error)}))
        return 2
    except BaseException as error:  # noqa: BLE001 - every failure becomes an event
        traceback.print_exc()
        if is_out_of_memory(error):
            emit(TrainerEvent("error", 0, {"kind": "oom", "message": str(error)[:300]}))
            return 3
        emit(TrainerEvent("error", 0, {"kind": "crash",
                                       "message": f"{type(error).__name__}: {error}"[:500]}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
