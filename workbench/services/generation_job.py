"""A generation streamed as a job (the chat's reply): each token's text a partial result, the
DoneEvent the outcome, the job's cancel ending the generation.

A failure keeps the text received so far as the failed job's outcome, so a crashed model never
loses what was already shown; a stream that ends without its final event is a failure too,
never a finished reply.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import describe_error
from ..core.generation import DoneEvent, TokenEvent
from ..core.job_state import JobState, JobWatcher
from ..engine.protocol import Generation
from .job_start import start_job


def start_generation(start: Callable[[], Generation],
                     watcher: JobWatcher | None = None) -> JobState:
    """``start()`` (which asks the model) and its stream, in a thread, as the job returned."""
    return start_job("generation", lambda job: _stream(job, start), watcher,
                     thread_name="generation")


def _stream(job: JobState, start: Callable[[], Generation]) -> DoneEvent | None:
    pieces: list[str] = []
    try:
        generation = start()
        job.on_cancel(generation.cancel)  # at once if a cancel came first
        for event in generation:
            if isinstance(event, TokenEvent) and event.text:
                pieces.append(event.text)
                job.add_partial(event.text)
            elif isinstance(event, DoneEvent):
                return event
    except BaseException as error:
        job.fail(describe_error(error), "".join(pieces))
        raise
    job.fail("The generation ended without its final event.", "".join(pieces))
    return None
