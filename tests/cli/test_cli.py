"""Each CLI command end to end, as a user runs it (a real process, the real model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from workbench.core.model_info import default_parallel
from workbench.library.bundled import BUNDLED_NAME


def workbench(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())


def test_models_lists_the_bundled_model(bundled_model):
    done = workbench("models")
    assert done.returncode == 0, done.stderr
    assert BUNDLED_NAME in done.stdout and "bundled" in done.stdout
    listed = json.loads(workbench("models", "--json").stdout)
    assert listed[0]["path"] == str(bundled_model) and listed[0]["size"] > 90_000_000


def test_info_prints_the_metadata():
    done = workbench("info", BUNDLED_NAME)
    assert done.returncode == 0, done.stderr
    for expected in ("architecture     llama", "Q4_1", "8,192 tokens", "134.5M", "GPU offload"):
        assert expected in done.stdout
    # The model's one name (the window's), the GGUF's own as a detail row.
    assert done.stdout.splitlines()[:2] == [f"name             {BUNDLED_NAME}",
                                            "GGUF name        Smollm2 135M 8k Lc100K Mix1 Ep2"]
    meta = json.loads(workbench("info", BUNDLED_NAME, "--json").stdout)
    assert meta["architecture"] == "llama" and meta["n_layers"] == 30
    # The engine and the memory estimate name the same parallel sequences: a real load's.
    parallel = default_parallel(meta["offload_supported"])
    assert meta["engine"]["n_parallel"] == parallel
    for args, count in (((), parallel), (("--parallel", "2"), 2)):
        lines = dict(line.split(None, 1) for line in
                     workbench("info", BUNDLED_NAME, *args).stdout.splitlines()
                     if line.startswith(("engine", "memory")))
        assert lines["engine"].startswith(f"{count} parallel · ")
        assert f"({count} parallel, each its own KV cache)" in lines["memory"]


def test_generate_streams_text_and_is_deterministic_at_temperature_zero():
    args = ("generate", "-m", BUNDLED_NAME, "--temperature", "0", "--max-tokens", "20",
            "--system", "Answer briefly.", "What is a prompt?")
    first, second = workbench(*args), workbench(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() and first.stdout == second.stdout
    assert "tok/s" in first.stderr and "first token" in first.stderr


def test_generate_json_has_text_tokens_and_stats():
    done = workbench("generate", "--temperature", "0.8", "--seed", "7", "--max-tokens", "12",
                     "--json", "Hello")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["seed"] == 7
    assert len(result["token_ids"]) == result["stats"]["completion_tokens"] <= 12
    assert result["stats"]["finish_reason"] in ("stop", "length")
    again = json.loads(workbench("generate", "--temperature", "0.8", "--seed", "7",
                                 "--max-tokens", "12", "--json", "Hello").stdout)
    assert again["token_ids"] == result["token_ids"]


def test_tokenize_shows_ids_and_pieces():
    done = workbench("tokenize", "Hello world")
    assert done.returncode == 0, done.stderr
    assert "19556" in done.stdout and "' world'" in done.stdout
    assert json.loads(workbench("tokenize", "--json", "Hello world").stdout) == [
        {"id": 19556, "piece": "Hello"}, {"id": 905, "piece": " world"}]


def test_unknown_model_is_one_line_on_stderr_and_nonzero():
    done = workbench("generate", "-m", "no-such-model", "hi")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "No model named 'no-such-model'" in done.stderr
