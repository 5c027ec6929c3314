"""A streamed generation as a job (services/generation_job.py) on the real bundled model: the
reply's tokens arrive as partial results and its DoneEvent is the outcome; a cancel ends it
cancelled; a stream that stops before its final event fails, keeping the text it had."""

from __future__ import annotations

import itertools
import threading

from workbench.core.generation import DoneEvent, GenerationRequest, TokenEvent
from workbench.core.job_state import CANCELLED, DONE, FAILED, JobWatcher
from workbench.core.sampling import SamplingSettings
from workbench.services.generation_job import start_generation

STORY = GenerationRequest(prompt="Once upon a time", sampling=SamplingSettings(
    temperature=0.0, max_tokens=40))


def test_the_tokens_arrive_and_the_done_event_is_the_outcome(shared_host):
    pieces: list[str] = []
    job = start_generation(lambda: shared_host.generate(STORY),
                           JobWatcher(on_partial=pieces.append))
    assert job.wait(120)
    assert job.status == DONE and isinstance(job.outcome, DoneEvent)
    assert "".join(pieces) == job.outcome.text and pieces


def test_a_cancel_stops_the_generation(shared_host):
    long = GenerationRequest(prompt="Write a very long essay about the sea.",
                             sampling=SamplingSettings(max_tokens=400))
    first_token = threading.Event()
    job = start_generation(lambda: shared_host.generate(long),
                           JobWatcher(on_partial=lambda _text: first_token.set()))
    assert first_token.wait(120)
    job.cancel()
    assert job.wait(120)
    assert job.status == CANCELLED
    assert job.outcome.stats.completion_tokens < 400


def test_a_stream_cut_before_its_end_fails_with_its_text(shared_host):
    def cut_after_five_tokens():
        events = shared_host.generate(STORY)
        return CutStream(events, 5)

    job = start_generation(cut_after_five_tokens)
    assert job.wait(120)
    assert job.status == FAILED and "without its final event" in job.error
    assert job.outcome  # the text received before the cut


class CutStream:
    """A real generation whose stream stops after ``count`` tokens (a transport cut)."""

    def __init__(self, generation, count: int):
        self.generation, self.count = generation, count

    def cancel(self) -> None:
        self.generation.cancel()

    def __iter__(self):
        tokens = (e for e in self.generation if isinstance(e, TokenEvent))
        yield from itertools.islice(tokens, self.count)
        self.generation.cancel()
