"""Cancel, crash and hang: the caller always gets control back with a clear answer."""

from __future__ import annotations

import os
import signal
import time

import pytest

from workbench.core.errors import ModelProcessDied
from workbench.core.generation import DoneEvent, GenerationRequest, TokenEvent
from workbench.core.messages import conversation
from workbench.core.sampling import GREEDY

LONG = GenerationRequest(messages=tuple(conversation("Write a long story about a dragon.")),
                         sampling=GREEDY.with_(max_tokens=2000))
SHORT = GenerationRequest(messages=tuple(conversation("Say hello.")),
                          sampling=GREEDY.with_(max_tokens=8))


def take_tokens(stream, n):
    iterator = iter(stream)
    seen = 0
    for event in iterator:
        if isinstance(event, TokenEvent):
            seen += 1
            if seen >= n:
                return iterator
    raise AssertionError("the stream ended early")


def test_cancel_mid_stream_stops_within_a_few_tokens(own_host):
    stream = own_host.generate(LONG)
    rest = take_tokens(stream, 5)
    stream.cancel()
    events = list(rest)
    # Counted in tokens, not seconds: a busy machine slows the decode and the cancel alike.
    assert sum(isinstance(e, TokenEvent) for e in events) < 32
    assert isinstance(events[-1], DoneEvent)
    assert events[-1].stats.finish_reason == "cancelled"
    assert events[-1].stats.completion_tokens < 2000
    # The host is alive and answers the next request.
    pid = own_host.pid
    assert own_host.generate(SHORT).result().text
    assert own_host.pid == pid


def test_kill_9_mid_generation_is_a_clear_error_and_keeps_the_partial_text(own_host):
    stream = own_host.generate(LONG)
    rest = take_tokens(stream, 10)
    old_pid = own_host.pid
    os.kill(old_pid, signal.SIGKILL)
    with pytest.raises(ModelProcessDied) as caught:
        for _ in rest:
            pass
    error = caught.value
    assert "SIGKILL" in str(error) and "model process ended" in str(error)
    assert len(stream.token_ids) >= 10
    assert error.partial_text == "".join(stream.pieces) and error.partial_text
    # The next request starts a fresh host with the same model.
    result = own_host.generate(SHORT).result()
    assert result.text
    assert own_host.pid != old_pid
    assert own_host.restarts == 1


def test_a_host_that_does_not_answer_is_killed_and_replaced(own_host):
    stream = own_host.generate(LONG)
    rest = take_tokens(stream, 3)
    hung_pid = own_host.pid
    os.kill(hung_pid, signal.SIGSTOP)  # frozen: it cannot answer the cancel
    started = time.monotonic()
    stream.cancel()
    events = list(rest)
    # The stream ends at once, not when the frozen host is finally killed.
    assert time.monotonic() - started < own_host.kill_after_s
    stats = events[-1].stats
    assert stats.finish_reason == "cancelled"
    # Its figures are the ones measured here, not zeros standing in for the host's.
    received = 3 + sum(isinstance(e, TokenEvent) and e.token_id >= 0 for e in events)
    assert stats.completion_tokens == received
    assert stats.tokens_per_second > 0 and 0 < stats.time_to_first_token_s < stats.total_s
    deadline = time.monotonic() + own_host.kill_after_s + 5
    while own_host.alive and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not own_host.alive, "the unresponsive host was not killed"
    assert own_host.generate(SHORT).result().text
    assert own_host.pid != hung_pid


def test_requests_queued_behind_a_crash_all_get_the_error(own_host):
    streams = own_host.generate_many([LONG, SHORT, SHORT])
    take_tokens(streams[0], 3)
    os.kill(own_host.pid, signal.SIGKILL)
    for stream in streams:
        with pytest.raises(ModelProcessDied):
            stream.result()
