"""Background work for the GUI: run blocking service calls off the GUI thread.

The services are blocking and thread-safe; these helpers run them in Python threads and hand
results back through Qt signals, which Qt delivers in the GUI thread (queued connections).
Widgets only bind to the signals (Anki's background operations, Orange's task state).
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..core.errors import WorkbenchError, describe_error
from ..core.job_state import JobState, JobWatcher
from ..services.generation_job import start_generation
from ..services.models import Generation


class BackgroundCall(QObject):
    """Run ``fn()`` in a thread; emit ``succeeded(result)`` or ``failed(message)`` in the GUI
    thread.

    The answer goes through the event loop first (``_report``, queued), so it is told only
    once the code that started the call has returned: a slot connected just after ``start``
    hears a call that failed at once (it did not: a re-check refused in microseconds left its
    button disabled for good). A started call keeps itself alive until it has reported
    (``_in_flight``), so a caller neither holds it in a list nor drops it afterwards; its
    parent widget closing first is fine (nobody is told, see ``_emit_if_alive``)."""

    succeeded = Signal(object)
    failed = Signal(str)
    _report = Signal(bool, object)  # emitted by the worker thread, run in the GUI thread
    _in_flight: set[BackgroundCall] = set()
    _in_flight_lock = threading.Lock()

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._fn = fn
        self.thread = threading.Thread(target=self._run, daemon=True, name="gui-background")
        self._report.connect(self._deliver)  # queued: the worker thread emits it
        # Its widget closing deletes it: then its answer has nobody to reach. (A weak
        # reference: the connection must not keep a finished call alive.)
        self.destroyed.connect(partial(_let_go_of, weakref.ref(self)))

    def start(self) -> BackgroundCall:
        with BackgroundCall._in_flight_lock:
            BackgroundCall._in_flight.add(self)
        self.thread.start()
        return self

    def _deliver(self, succeeded: bool, payload: Any) -> None:
        """The answer, told to every slot connected by now; then the call lets go."""
        try:
            (self.succeeded if succeeded else self.failed).emit(payload)
        finally:
            self._forget()

    def _forget(self, *_args) -> None:
        """Reported: no longer kept alive, and no longer a child of its widget (a widget that
        starts one per keystroke must not collect them); a caller that holds it still can."""
        self._let_go()
        self.setParent(None)

    def _let_go(self) -> None:
        with BackgroundCall._in_flight_lock:
            BackgroundCall._in_flight.discard(self)

    def _run(self) -> None:
        try:
            result = self._fn()
        except BaseException as error:  # noqa: BLE001 - every failure becomes a message
            if not isinstance(error, WorkbenchError):
                traceback.print_exc()
            if not _emit_if_alive(self._report, False, describe_error(error)):
                self._let_go()
            return
        if not _emit_if_alive(self._report, True, result):
            self._let_go()  # its widget is gone: nobody will be told, nothing to keep


def _let_go_of(reference, *_args) -> None:
    call = reference()
    if call is not None:
        call._let_go()


def background_calls_in_flight() -> int:
    """How many started calls have not reported yet (tests wait for 0 before tearing down)."""
    with BackgroundCall._in_flight_lock:
        return len(BackgroundCall._in_flight)


def run_in_background(fn: Callable[[], Any], parent: QObject,
                      on_success: Callable[[Any], None],
                      on_failure: Callable[[str], None] | None = None) -> BackgroundCall:
    """Start ``fn()`` off the GUI thread with its result and failure bound (before it starts:
    a call that fails at once must not report before anyone listens)."""
    call = BackgroundCall(fn, parent)
    call.succeeded.connect(on_success)
    if on_failure is not None:
        call.failed.connect(on_failure)
    return call.start()


def _emit_if_alive(signal, *args) -> bool:
    """The widget that asked may have closed meanwhile (Qt deleted this object with it):
    then nobody is left to tell, and that is not an error. False when it was gone."""
    try:
        signal.emit(*args)
    except RuntimeError:  # "Signal source has been deleted"
        return False
    return True


class JobBridge(QObject):
    """The window's one binding to long work done by a service (a ``JobState``: a comparison
    run, an evaluation, a tune job, a download): its progress, partial results and end arrive
    as queued signals in the GUI thread. Give ``watcher`` to the service that starts the job
    (so no early event is missed), or ``bind`` a job already running."""

    progress = Signal(object)  # JobProgress
    partial = Signal(object)  # what the job reports as it goes (a trainer event, …)
    finished = Signal(object)  # the JobState: status, outcome, error

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.watcher = JobWatcher(
            on_progress=lambda progress: _emit_if_alive(self.progress, progress),
            on_partial=lambda item: _emit_if_alive(self.partial, item),
            on_finished=lambda state: _emit_if_alive(self.finished, state))

    def bind(self, state: JobState) -> JobBridge:
        state.watch(self.watcher)
        return self


class StreamJob(QObject):
    """The window's side of a streamed generation (services/generation_job.py): the service's
    job bound to the GUI thread by a JobBridge, its tokens, end and failure as signals.

    ``failed(message, partial_text)`` carries the text received before the failure, so a
    crashed model never loses what was already shown. The widget going away cancels the
    generation: nobody would read it.
    """

    token = Signal(str)
    finished = Signal(object)  # DoneEvent
    failed = Signal(str, str)

    def __init__(self, start: Callable[[], Generation], parent: QObject | None = None):
        super().__init__(parent)
        self._start = start
        self._bridge = JobBridge(self)
        self._bridge.partial.connect(self.token.emit)
        self._bridge.finished.connect(self._ended)
        self.state: JobState | None = None

    def start(self) -> StreamJob:
        self.state = start_generation(self._start, self._bridge.watcher)
        self.destroyed.connect(self.state.cancel)
        return self

    def cancel(self) -> None:
        if self.state is not None:
            self.state.cancel()

    def _ended(self, state: JobState) -> None:
        if state.status == "failed":
            self.failed.emit(state.error or "The generation failed.", state.outcome or "")
        else:
            self.finished.emit(state.outcome)
