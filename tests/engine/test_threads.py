"""CPU threads: the free cores on a busy machine, every core (at most 8) on a quiet one, and
whatever the user sets (``-t`` in the engine flags) kept; the host reports which and why."""

from __future__ import annotations

import os

import pytest

from workbench.core.engine_flags import format_engine_flags, parse_engine_flags
from workbench.core.errors import SettingsError
from workbench.core.model_info import LoadSettings, describe_engine
from workbench.engine.host.client import ModelHost
from workbench.engine.host.threads import choose_threads


@pytest.mark.parametrize("cores, load, expected", [
    (2, 0.1, 2),   # quiet: every core
    (2, 0.6, 1),   # one core's worth of other work: it is left to them
    (2, 1.4, 1),
    (2, 12.0, 1),  # never fewer than one
    (16, 0.0, 8),  # at most eight
    (16, 10.2, 6),
    (4, None, 4),  # load unknown (Windows): every core
])
def test_auto_takes_the_cores_the_load_leaves_free(cores, load, expected):
    assert choose_threads(cores, load).n_threads == expected


def test_the_reason_says_when_threads_were_held_back():
    busy = choose_threads(2, 1.3)
    assert busy.reason == ("1 thread, not 2: load 1.3 on 2 cores (a thread sharing a busy core "
                           "stalls every step; -t N sets it)")
    assert choose_threads(2, 0.2).reason == "2 threads: 2 cores, load 0.2"
    assert choose_threads(2, 9.0, requested=2).reason == "2 threads as set"


def test_the_engine_flag_sets_the_threads_and_refuses_nonsense():
    assert parse_engine_flags("-t 3 -np 2") == {"n_threads": 3, "n_parallel": 2}
    assert parse_engine_flags("--threads=1") == {"n_threads": 1}
    # Not written back into a variant's flags: a resumed run takes the machine's load anew.
    assert format_engine_flags({"n_threads": 3, "n_parallel": 4}) == "-np 4"
    with pytest.raises(SettingsError, match="-t '0' is not a whole number of threads"):
        parse_engine_flags("-t 0")


def test_the_host_uses_the_threads_set_and_says_so(bundled_model, tmp_path):
    settings = LoadSettings(str(bundled_model), n_ctx=512, n_parallel=1,
                            **parse_engine_flags("-t 1"))
    host = ModelHost(settings, logs_dir=tmp_path)
    host.start()
    try:
        engine = host.metadata.engine
    finally:
        host.close()
    assert engine["n_threads"] == 1 and engine["threads_reason"] == "1 thread as set"
    assert describe_engine(engine).endswith("· 1 thread")


def test_an_auto_host_reports_the_rule_it_followed(shared_host):
    engine = shared_host.metadata.engine
    cores = os.cpu_count() or 1
    assert 1 <= engine["n_threads"] <= min(8, cores)
    assert engine["threads_reason"].startswith(
        f"{engine['n_threads']} thread{'s' if engine['n_threads'] > 1 else ''}")
    assert f"{cores} cores" in engine["threads_reason"]
