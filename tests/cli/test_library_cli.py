"""Library commands end to end: real processes talking to a local Hub through HF_ENDPOINT."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.fixtures.fake_hub import fake_hub, hf_env  # noqa: F401 - pytest fixtures

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def workbench(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


@pytest.fixture
def hub(fake_hub):  # noqa: F811 - the fixture imported above
    return fake_hub


def test_hub_search_and_files(hub):
    done = workbench("hub", "search", "smol")
    assert done.returncode == 0, done.stderr
    assert SMOL in done.stdout and "5,000 downloads" in done.stdout and "2024-11-01" in done.stdout
    done = workbench("hub", "files", SMOL)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "Q4_1" in lines and "Q8_0" in lines
    assert f"  {FILE}  93.8 MiB" in lines
    assert any("(2 parts)" in line for line in lines)


def test_pull_shows_progress_and_the_model_is_listed(hub, hf_env):
    done = workbench("pull", SMOL, FILE)
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr and "93.8 MiB / 93.8 MiB" in done.stderr
    assert str(hf_env) in done.stdout
    listed = workbench("models")
    assert "SmolLM2-135M-Instruct.Q4_1" in listed.stdout and "hub" in listed.stdout


def test_ctrl_c_cancels_a_pull_which_keeps_its_bytes_and_resumes(hub, hf_env):
    hub.hold_after = 30_000_000  # the server pauses mid-body until released
    pull = subprocess.Popen([sys.executable, "-m", "workbench", "pull", SMOL, FILE],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert hub.held.wait(120)
        # Two of huggingface_hub's 10 MiB chunks written: a resume has bytes to start from.
        while _received(hf_env) < 20_000_000:
            assert pull.poll() is None, pull.communicate()
            time.sleep(0.05)
        pull.send_signal(signal.SIGINT)  # what Ctrl-C sends
    finally:
        hub.release.set()
    out, err = pull.communicate(timeout=120)
    assert pull.returncode == 130, err
    assert "was cancelled" in err and "Traceback" not in err and out == ""
    assert _received(hf_env) >= 20_000_000  # the bytes received are kept
    done = workbench("pull", SMOL, FILE)
    assert done.returncode == 0, done.stderr
    assert hub.downloads_of(FILE)[-1][2].startswith("bytes=")  # resumed, not started again


def _received(cache) -> int:
    return sum(p.stat().st_size for p in cache.rglob("*.partial"))


def test_errors_are_one_clear_line(hub):
    cases = [
        (("hub", "files", "nobody/nothing"), "The repository nobody/nothing does not exist"),
        (("hub", "files", "meta-llama/Gated-GGUF"), "is gated or private"),
        (("hub", "files", "acme/no-gguf-here"), "has no GGUF files"),
        (("pull", SMOL, "missing.gguf"), "has no GGUF file named missing.gguf"),
        (("pull", "acme/huge-GGUF", "huge.Q8_0.gguf"), "it needs 1024.0 TiB more"),
    ]
    for args, message in cases:
        done = workbench(*args)
        assert done.returncode == 1, (args, done.stdout)
        assert done.stderr.startswith("workbench: error: ") and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_offline_search_says_why(hub):
    done = workbench("hub", "search", "smol", HF_HUB_OFFLINE="1")
    assert done.returncode == 1 and "offline mode is on (HF_HUB_OFFLINE)" in done.stderr


def test_add_a_file_and_a_folder(bundled_model, tmp_path):
    folder = tmp_path / "lmstudio" / "models"
    folder.mkdir(parents=True)
    shutil.copy(bundled_model, folder / "watched.gguf")
    single = tmp_path / "single.gguf"
    os.symlink(bundled_model, single)
    done = workbench("add", str(single))
    assert done.returncode == 0, done.stderr
    assert "Added single: llama, Q4_1, 93.8 MiB" in done.stdout
    done = workbench("add", str(tmp_path / "lmstudio"))
    assert done.returncode == 0, done.stderr
    assert "1 model(s) found" in done.stdout and "watched" in done.stdout
    assert "watched" in workbench("models").stdout
    bad = workbench("add", str(tmp_path / "nothing-here"))
    assert bad.returncode == 1 and "does not exist" in bad.stderr


def test_info_prints_what_the_file_says_and_the_memory_estimate():
    done = workbench("info", "smollm2-135m-instruct")
    assert done.returncode == 0, done.stderr
    for expected in ("license          apache-2.0", "base model", "chat template    the file's own",
                     "memory           needs ≈"):
        assert expected in done.stdout
