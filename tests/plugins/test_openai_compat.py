"""The openai_compat backend against a real OpenAI-compatible server on 127.0.0.1
(llama-cpp-python's server, serving the bundled model)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from workbench.core.generation import DoneEvent, GenerationRequest, TokenEvent
from workbench.core.messages import conversation
from workbench.core.runs import RunStatus
from workbench.core.sampling import GREEDY
from workbench.services.models import ModelService
from workbench.services.plugins import start_plugins


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(bundled_model, tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024",
         "--model_alias", "smollm2"], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/models", timeout=1).read()
            break
        except OSError as error:
            if process.poll() is not None:
                log.close()
                raise RuntimeError(f"the OpenAI-compatible server exited with code "
                                   f"{process.returncode} before answering; see {log.name}"
                                   ) from error
            if time.monotonic() > deadline:
                # fail here, not later in every test with a puzzling connection error
                process.kill()
                process.wait(10)
                log.close()
                raise RuntimeError(f"the OpenAI-compatible server on {base} did not answer "
                                   f"within 90 s; see {log.name}") from error
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(10)
    log.close()


QUESTION = GenerationRequest(messages=tuple(conversation("What is the capital of France?")),
                             sampling=GREEDY.with_(max_tokens=16))


def test_streams_from_the_server_and_matches_the_local_backend(server):
    models = ModelService()
    start_plugins(models)
    reference = f"openai+{server}?model=smollm2"
    assert models.is_remote(reference)
    remote = models.open_remote(reference)
    assert remote.metadata.name == "smollm2"
    stream = remote.generate(QUESTION)
    events = list(stream)
    pieces = [e for e in events if isinstance(e, TokenEvent)]
    assert len(pieces) > 3 and isinstance(events[-1], DoneEvent)
    assert events[-1].stats.time_to_first_token_s > 0
    # llama-cpp-python's server runs without flash attention (llama.cpp's default is auto):
    # matching its engine settings gives its tokens exactly.
    local = models.load_named(None, n_ctx=1024, flash_attn="off")
    try:
        assert stream.text.strip() == local.generate(QUESTION).result().text.strip()
    finally:
        models.close()


def test_unknown_model_and_unreachable_server_are_clear_errors(server):
    models = ModelService()
    start_plugins(models)
    with pytest.raises(Exception, match="has no model 'nope'"):
        models.open_remote(f"openai+{server}?model=nope")
    with pytest.raises(Exception, match="Cannot reach http://127.0.0.1:9"):
        models.open_remote("openai+http://127.0.0.1:9/v1")


def test_cancel_a_remote_stream(server):
    models = ModelService()
    start_plugins(models)
    remote = models.open_remote(f"openai+{server}")
    stream = remote.generate(GenerationRequest(messages=QUESTION.messages,
                                               sampling=GREEDY.with_(max_tokens=500)))
    iterator = iter(stream)
    next(iterator)
    started = time.monotonic()
    stream.cancel()
    rest = list(iterator)
    assert time.monotonic() - started < 5.0  # generous: a loaded CI machine
    assert rest[-1].stats.finish_reason == "cancelled"


def test_a_comparison_mixes_local_and_remote_variants(server):
    from tests.services.test_compare import Recorder, make_workspace
    from workbench.services.compare import RunService, VariantSpec
    from workbench.services.sessions import open_store
    from workbench.services.workspace import WorkspaceService

    store, models = open_store(), ModelService()
    plugins = start_plugins(models)
    workspace = WorkspaceService(store)
    ws, v1, v2, cases = make_workspace(workspace)
    greedy = GREEDY.with_(max_tokens=8)
    specs = [VariantSpec("local", v2, None, greedy, n_ctx=1024),
             VariantSpec("server", v2, f"openai+{server}?model=smollm2", greedy)]
    recorder = Recorder()
    handle = RunService(store, models, plugins).start(ws.session.id, cases.id, cases.cases,
                                                      specs, recorder)
    assert recorder.finished.wait(120) and recorder.status is RunStatus.DONE
    texts = {}
    for output in recorder.outputs:
        texts.setdefault(output.variant_id, []).append(output.text.strip())
    local, remote = (texts[v.id] for v in handle.run.variants)
    assert local == remote
    stored = store.runs.outputs(handle.run.id)
    assert {o.model_path for o in stored} >= {f"openai+{server}?model=smollm2"}
    models.close()
    store.close()
