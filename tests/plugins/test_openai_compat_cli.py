"""``workbench generate -m openai+http://…``: the command line opens every model reference a
variant accepts, against a real OpenAI-compatible server on 127.0.0.1 (llama-cpp-python's
server, serving the bundled model)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(arguments: list[str], log_path, port: int):
    """A real llama_cpp.server on ``port``; its /v1 address once it answers."""
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", *arguments, "--host", "127.0.0.1",
         "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/models", timeout=1).read()
            break
        except OSError as error:
            if process.poll() is not None:
                raise RuntimeError("the OpenAI-compatible server did not start") from error
            time.sleep(0.3)
    return process, log, base


@contextlib.contextmanager
def serving(model, folder, *options: str):
    """A real llama_cpp.server serving ``model`` for the block: its /v1 address."""
    process, log, base = start_server(["--model", str(model), *options],
                                      folder / "server.log", free_port())
    try:
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(scope="module")
def server(bundled_model, tmp_path_factory):
    """One model and no alias: like llama-server, the server names it by its file path."""
    with serving(bundled_model, tmp_path_factory.mktemp("server"), "--n_ctx", "1024") as base:
        yield base


def workbench(*arguments: str) -> subprocess.CompletedProcess:
    # env carries this test's WORKBENCH_HOME (tests/conftest.py), a fresh temporary folder
    return subprocess.run([sys.executable, "-m", "workbench", *arguments], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=300, check=False)


def test_generate_against_a_single_model_server_needs_no_model_name(server, bundled_model):
    done = workbench("generate", "-m", f"openai+{server}", "--temp", "0", "--json",
                     "What is a prompt?")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert len(answer["text"].strip()) > 10
    query = urllib.parse.urlencode({"model": str(bundled_model)})
    assert answer["model"] == f"openai+{server}?{query}"


def test_info_names_the_served_model_and_tokenize_says_it_needs_a_local_one(server,
                                                                            bundled_model):
    info = workbench("info", f"openai+{server}")
    assert info.returncode == 0, info.stderr
    assert f"served by     {server}" in info.stdout
    assert str(bundled_model) in info.stdout

    tokens = workbench("tokenize", "-m", f"openai+{server}", "hello")
    assert tokens.returncode == 1
    assert tokens.stderr.strip() == (
        f"workbench: error: 'workbench tokenize' needs a local model: openai+{server} is "
        "served elsewhere, and the OpenAI-style API has no tokenizer.")


def test_an_unknown_backend_and_safe_mode_are_one_line_errors(server):
    unknown = workbench("generate", "-m", "nope+http://127.0.0.1:9/v1", "hi")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("workbench: error: No backend 'nope' to open "
                                     "nope+http://127.0.0.1:9/v1: see 'workbench plugins'")
    safe = workbench("--safe-mode", "generate", "-m", f"openai+{server}", "hi")
    assert safe.returncode == 1
    assert "No backend 'openai'" in safe.stderr and "safe mode loads no plugins" in safe.stderr


def test_a_server_with_several_models_asks_which_one(bundled_model, tmp_path):
    # With a config file the server takes its address from the file, not the command line.
    port, config = free_port(), tmp_path / "models.json"
    config.write_text(json.dumps({"host": "127.0.0.1", "port": port, "models": [
        {"model": str(bundled_model), "model_alias": alias, "n_ctx": 512}
        for alias in ("first", "second")]}))
    process, log, base = start_server(["--config_file", str(config)], tmp_path / "server.log",
                                      port)
    try:
        done = workbench("generate", "-m", f"openai+{base}", "-n", "4", "hi")
        assert done.returncode == 1
        assert done.stderr.strip() == (
            f"workbench: error: {base} serves 2 models; name one with ?model=NAME "
            "(it serves: first, second).")
        named = workbench("generate", "-m", f"openai+{base}?model=second", "--temp", "0",
                          "-n", "8", "--json", "hi")
        assert named.returncode == 0, named.stderr
        assert json.loads(named.stdout)["model"] == f"openai+{base}?model=second"
    finally:
        process.terminate()
        process.wait(10)
        log.close()
