"""promptfoo's provider ids run unchanged: ``openai:chat:MODEL`` with ``apiBaseUrl``/``apiKey``,
the environment forms, ``openai:completion:``, ``ollama:chat:``; and a request carries only
what the suite sets (with promptfoo's own defaults for its OpenAI ids), so a server's defaults
apply to the rest. Checked against a real llama_cpp.server and, to see every header and body
byte, a real HTTP server on 127.0.0.1 that records what it is sent."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import urllib.request

import pytest
from workbench_plugins.openai_compat.client import OpenAIModel, RemoteError
from workbench_plugins.openai_compat.ollama import OllamaModel

from tests.plugins.recording_server import ANSWER, recording
from tests.plugins.test_openai_compat_cli import serving
from workbench.core.generation import GenerationRequest
from workbench.core.messages import conversation
from workbench.core.sampling import SamplingSettings
from workbench.core.suites import SuiteError, SuiteProvider
from workbench.services.evaluation.preflight import Preflight, check_file
from workbench.services.evaluation.suite_file import read_suite
from workbench.services.evaluation.suite_providers import resolve_provider
from workbench.services.evaluation.suite_session import sampling_of
from workbench.services.models import ModelService
from workbench.services.plugins import start_plugins

ENVIRONMENT = ("OPENAI_BASE_URL", "OPENAI_API_BASE_URL", "OPENAI_API_HOST", "OPENAI_API_KEY",
               "OPENAI_TEMPERATURE", "OPENAI_MAX_TOKENS", "OPENAI_TOP_P", "OPENAI_STOP",
               "OPENAI_PRESENCE_PENALTY", "OPENAI_FREQUENCY_PENALTY", "OPENAI_BEST_OF",
               "OLLAMA_BASE_URL", "OLLAMA_API_KEY")


@pytest.fixture(autouse=True)
def no_provider_environment(monkeypatch):
    """What the machine running the tests has set must not reach these requests."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def workbench(*args: str, **env: str) -> subprocess.CompletedProcess:
    # the environment carries this test's WORKBENCH_HOME (tests/conftest.py)
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env}, check=False)


def write(tmp_path, text: str, name: str = "suite.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def resolved(ident: str, **config) -> SuiteProvider:
    problems = []
    provider = resolve_provider(SuiteProvider(ident, config=config, line=3),
                                lambda key, message: problems.append((key, message)))
    assert problems == []
    return provider


# -- through workbench eval -----------------------------------------------------------------

PROVIDERS = """
    prompts: ["Say {{{{word}}}}."]
    providers:
      - id: openai:chat:chat-model
        config:
          apiBaseUrl: {url}/v1
          apiKey: none
          temperature: 0.3
          top_p: 0.9
          seed: 7
          stop: ["\\n\\n"]
          response_format: {{type: json_object}}
      - id: openai:chat:envar-model
        config: {{apiBaseUrl: "{url}/v1", apiKeyEnvar: MY_SERVER_KEY, temperature: 0}}
      - openai:chat:env-model
      - id: openai:completion:completion-model
        config: {{apiBaseUrl: "{url}/v1"}}
      - id: openai+{url}/v1?model=plain-model
        config: {{temperature: 0.5}}
      - id: ollama:chat:llama3.2
        config: {{temperature: 0, num_predict: 12, num_ctx: 2048, keep_alive: 5m}}
    tests:
      - vars: {{word: hello}}
        assert: [{{type: icontains, value: hello}}]
    """


def test_promptfoo_ids_send_what_the_suite_sets_with_its_key(tmp_path):
    """One run, six providers, one recording server: each request's path, Authorization and
    body keys are exactly what promptfoo's provider sends for the same config (streamed)."""
    models = ("chat-model", "envar-model", "env-model", "completion-model", "plain-model",
              "llama3.2:latest")
    with recording(models=models) as server:
        path = write(tmp_path, PROVIDERS.format(url=server.url))
        done = workbench("eval", str(path), "--json", str(tmp_path / "out.json"),
                         OPENAI_BASE_URL=f"{server.url}/v1", OPENAI_API_KEY="sk-env",
                         MY_SERVER_KEY="sk-mine", OLLAMA_BASE_URL=server.url)
        assert done.returncode == 0, done.stdout + done.stderr
        sent = {(r.body or {}).get("model"): r for r in server.posts()}

    assert set(sent) == {"chat-model", "envar-model", "env-model", "completion-model",
                         "plain-model", "llama3.2"}
    chat = sent["chat-model"]
    assert chat.path == "/v1/chat/completions"
    assert chat.headers["Authorization"] == "Bearer none"  # apiKey wins over OPENAI_API_KEY
    assert chat.body == {"model": "chat-model", "stream": True,
                         "messages": [{"role": "user", "content": "Say hello."}],
                         # as written, and promptfoo's max_tokens where the suite has none
                         "temperature": 0.3, "top_p": 0.9, "seed": 7, "stop": ["\n\n"],
                         "response_format": {"type": "json_object"}, "max_tokens": 1024}
    assert sent["envar-model"].headers["Authorization"] == "Bearer sk-mine"
    assert set(sent["envar-model"].body) == {"model", "messages", "stream", "temperature",
                                             "max_tokens"}
    env = sent["env-model"]  # OPENAI_BASE_URL and OPENAI_API_KEY, no config at all
    assert env.path == "/v1/chat/completions"
    assert env.headers["Authorization"] == "Bearer sk-env"
    assert {k: v for k, v in env.body.items() if k != "messages"} == {
        "model": "env-model", "stream": True, "temperature": 0.0, "max_tokens": 1024}
    completion = sent["completion-model"]
    assert completion.path == "/v1/completions"
    assert completion.body == {"model": "completion-model", "prompt": "Say hello.",
                               "stream": True, "max_tokens": 1024, "temperature": 0.0,
                               "top_p": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
                               "stop": ["<|im_end|>", "<|endoftext|>"], "best_of": 1}
    plain = sent["plain-model"]  # the app's own form: what it sets, and a bounded answer
    assert set(plain.body) == {"model", "messages", "stream", "temperature", "max_tokens"}
    assert (plain.body["temperature"], plain.body["max_tokens"]) == (0.5, 256)
    assert plain.headers["Authorization"] == "Bearer sk-env"
    for request in sent.values():
        assert not {"repeat_penalty", "top_k", "min_p"} & set(request.body)
    ollama = sent["llama3.2"]
    assert ollama.path == "/api/chat"
    assert "Authorization" not in ollama.headers
    assert ollama.body == {"model": "llama3.2", "stream": True, "keep_alive": "5m",
                           "messages": [{"role": "user", "content": "Say hello."}],
                           "options": {"temperature": 0, "num_predict": 12, "num_ctx": 2048}}

    notes = [line for line in done.stderr.splitlines() if line.startswith("workbench: note:")]
    assert f"workbench: note: {path}:4: openai:chat:chat-model → {server.url}/v1/chat/" \
           "completions" in notes
    assert sum("streamed" in line for line in notes) == 1  # a difference is said once
    assert any(f"ollama:chat:llama3.2 → {server.url}/api/chat (Ollama's own API" in line
               for line in notes)
    report = json.loads((tmp_path / "out.json").read_text())
    assert [row["output"] for row in report["results"]] == ["".join(ANSWER)] * 6
    assert all("errors" in v and "failures" in v for v in report["report"]["variants"])
    assert "errors" in done.stdout.splitlines()[0].split()  # the summary's column

    # every output records what its server was sent
    from workbench.services.sessions import open_store
    store = open_store()
    try:
        outputs = {o.sampling.sent: o for o in store.runs.outputs(report["run_id"])}
    finally:
        store.close()
    recorded = outputs[("temperature", "top_p", "seed", "stop", "max_tokens")].sampling
    assert recorded.extra_body == {"response_format": {"type": "json_object"}}


def test_a_promptfoo_suite_runs_against_a_real_llama_cpp_server(tmp_path, bundled_model):
    """`id: openai:chat:smollm2` with apiBaseUrl and apiKey, as promptfoo's docs write it for
    llama-server, LM Studio and vLLM: the answer is the one the server gives promptfoo's
    request (no repeat_penalty sent: the server's own default applies)."""
    with serving(bundled_model, tmp_path, "--n_ctx", "1024", "--model_alias",
                 "smollm2") as base:
        path = write(tmp_path, f"""
            prompts: ["What is the capital of {{{{country}}}}? Answer in one word."]
            providers:
              - id: openai:chat:smollm2
                config: {{apiBaseUrl: "{base}", apiKey: none, temperature: 0, max_tokens: 16}}
            tests:
              - vars: {{country: France}}
                assert: [{{type: max-length, value: 5000}}]
            """)
        done = workbench("eval", str(path), "--json", str(tmp_path / "out.json"))
        assert done.returncode == 0, done.stdout + done.stderr
        [row] = json.loads((tmp_path / "out.json").read_text())["results"]
        # promptfoo's own request for this provider: the same body, not streamed
        request = urllib.request.Request(
            f"{base}/chat/completions", method="POST",
            headers={"Content-Type": "application/json", "Authorization": "Bearer none"},
            data=json.dumps({"model": "smollm2", "temperature": 0, "max_tokens": 16,
                             "messages": [{"role": "user", "content": "What is the capital "
                                           "of France? Answer in one word."}]}).encode())
        with urllib.request.urlopen(request, timeout=120) as answer:
            expected = json.load(answer)["choices"][0]["message"]["content"]
    assert row["output"] == expected and expected.strip()


def test_ollama_chat_goes_to_ollamas_own_api_on_its_default_port(tmp_path):
    provider = resolved("ollama:chat:llama3.2", temperature=0.2)
    assert provider.id == "ollama+http://localhost:11434?model=llama3.2&api=chat"
    assert provider.label == "ollama:chat:llama3.2"
    model = OllamaModel.unstarted(provider.id.removeprefix("ollama+"))
    stream = model.generate(GenerationRequest(messages=tuple(conversation("Hi")),
                                              sampling=sampling_of(provider)))
    assert f"{model.base_url}{stream.path}" == "http://localhost:11434/api/chat"
    assert stream.body["options"] == {"temperature": 0.2}
    assert provider.notes[0].startswith("ollama:chat:llama3.2 → http://localhost:11434/api/chat")
    with socket.socket() as probe:  # never depends on a real Ollama: only a free port is used
        free = probe.connect_ex(("127.0.0.1", 11434)) != 0
    if not free:
        return
    try:
        server_cm = recording(11434, ("llama3.2:latest",))
        server = server_cm.__enter__()
    except OSError:
        return  # taken in the meantime
    try:
        remote = OllamaModel.from_reference(provider.id.removeprefix("ollama+"))
        text = remote.generate(GenerationRequest(messages=tuple(conversation("Hi")),
                                                 sampling=sampling_of(provider))).result().text
        assert text == "".join(ANSWER)
        assert [r.path for r in server.posts()] == ["/api/chat"]
    finally:
        server_cm.__exit__(None, None, None)


# -- the preflight and the file's problems ----------------------------------------------------

def test_a_bad_provider_id_is_named_with_its_line_and_the_accepted_forms(tmp_path):
    path = write(tmp_path, """
        prompts: ["Say {{word}}."]
        providers:
          - anthropic:messages:claude-3-haiku
          - id: openai:embeddings:text-embedding-3-small
          - id: openai:chat:x
            config: {apiBaseUrl: "http://127.0.0.1:1/v1", headers: {X-Team: a}}
          - id: SmolLM2-135M-Instruct
            config: {apiBaseUrl: "http://127.0.0.1:1/v1"}
        tests: [{vars: {word: hi}}]
        """)
    models = ModelService()
    preflight = Preflight(models, start_plugins(models), probe_timeout_s=0.5)
    with pytest.raises(SuiteError) as caught:
        check_file(path, preflight)
    found = {(p.line, p.key): p.message for p in caught.value.problems}
    assert all(p.source == str(path) for p in caught.value.problems)
    claude = found[(4, "providers")]
    assert claude.startswith("No model named 'anthropic:messages:claude-3-haiku'")
    assert "is not a provider id Prompt Workbench runs; accepted: openai:chat:MODEL, " \
           "openai:completion:MODEL, openai:MODEL" in claude and "ollama:chat:MODEL" in claude
    assert found[(5, "providers")].startswith(
        "'openai:embeddings:text-embedding-3-small': promptfoo's openai:embeddings: provider "
        "does not generate text")
    assert found[(7, "headers")].startswith("not a setting Prompt Workbench sends to openai "
                                            "servers; supported in config: temperature")
    assert found[(9, "apiBaseUrl")].startswith("a setting for a server, and "
                                               "'SmolLM2-135M-Instruct' is a local model")


def test_the_preflight_asks_the_server_a_promptfoo_id_names(tmp_path):
    with recording(models=("smollm2",)) as server:
        good = write(tmp_path, f"""
            prompts: ["Say {{{{word}}}}."]
            providers:
              - id: openai:chat:smollm2
                config: {{apiBaseUrl: "{server.url}/v1", apiKey: none}}
              - id: openai:chat:other
                config: {{apiBaseUrl: "{server.url}/v1", apiKey: none}}
            tests: [{{vars: {{word: hi}}}}]
            """)
        models = ModelService()
        preflight = Preflight(models, start_plugins(models), probe_timeout_s=2)
        with pytest.raises(SuiteError) as caught:
            check_file(good, preflight)
        [problem] = caught.value.problems
        assert (problem.line, problem.key) == (6, "providers")
        assert problem.message == (f"{server.url}/v1 has no model 'other' (it serves: "
                                   "smollm2)")
        assert server.requests[0].headers["Authorization"] == "Bearer none"


def test_a_completion_provider_refuses_a_chat_prompt_up_front(tmp_path):
    path = write(tmp_path, """
        prompts:
          - [{role: system, content: Be brief.}, {role: user, content: "Say {{word}}."}]
        providers:
          - id: openai:completion:m
            config: {apiBaseUrl: "http://127.0.0.1:1/v1"}
        tests: [{vars: {word: hi}}]
        """)
    suite, problems = read_suite(path)
    assert problems == []
    found = Preflight(ModelService()).problems(suite)
    assert [(p.line, p.message) for p in found if p.message.startswith("openai:compl")] == [
        (5, "openai:completion:m sends one text to a completion endpoint, and prompt 1 is a "
            "chat (a system message or examples): use the chat provider (openai:chat:MODEL, "
            "ollama:chat:MODEL)")]


# -- how ids, keys and the environment are read ---------------------------------------------

def test_where_promptfoos_openai_ids_go_and_which_key_they_use(monkeypatch):
    assert resolved("openai:chat:m").id == "openai+https://api.openai.com/v1?model=m&api=chat"
    assert resolved("openai:gpt-4o-mini").id.endswith("?model=gpt-4o-mini&api=chat")
    assert resolved("openai:gpt-3.5-turbo-instruct").id.endswith("&api=completion")
    assert resolved("openai:chat:m", apiHost="gw.example").id.startswith(
        "openai+https://gw.example/v1?")
    assert resolved("openai:chat:m", apiKey="k 1").id.endswith("&key=k+1")
    assert resolved("openai:chat:m", apiKeyEnvar="TEAM_KEY").id.endswith("&key_env=TEAM_KEY")
    monkeypatch.setenv("OPENAI_API_HOST", "host.example")
    assert resolved("openai:chat:m").id.startswith("openai+https://host.example/v1?")
    monkeypatch.delenv("OPENAI_API_HOST")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1234/v1/")  # LM Studio's
    assert resolved("openai:chat:m").id.startswith("openai+http://127.0.0.1:1234/v1?")
    assert resolved("openai:chat:m", apiBaseUrl="http://h:8000/v1").id.startswith(
        "openai+http://h:8000/v1?")  # the config wins over the environment
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://gpu-box:11434")
    assert resolved("ollama:llama3.2:1b").id == \
        "ollama+http://gpu-box:11434?model=llama3.2%3A1b&api=generate"


def test_promptfoos_request_defaults_and_their_variables(monkeypatch):
    def sent(provider):
        sampling = sampling_of(provider)
        return {name: getattr(sampling, name) for name in sampling.sent}

    assert sent(resolved("openai:chat:m", temperature=0.7)) == {"temperature": 0.7,
                                                                 "max_tokens": 1024}
    assert sent(resolved("openai:chat:m", omitDefaults=True, seed=3)) == {"seed": 3}
    monkeypatch.setenv("OPENAI_MAX_TOKENS", "64")
    monkeypatch.setenv("OPENAI_TOP_P", "0.5")
    assert sent(resolved("openai:chat:m")) == {"temperature": 0.0, "max_tokens": 64,
                                               "top_p": 0.5}
    assert sent(resolved("openai:chat:m", max_tokens=8))["max_tokens"] == 8
    # a local model's settings are every setting, as always
    assert sampling_of(SuiteProvider("SmolLM2-135M-Instruct", config={"temperature": 0})) \
        == SamplingSettings(temperature=0)


def test_a_promptfoo_id_on_the_command_line_is_read_as_in_a_suite(tmp_path, monkeypatch):
    from workbench.core.suites import Suite
    from workbench.services.evaluation.suite_session import providers_for

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8765/v1")
    [provider] = providers_for(Suite(), ["openai:chat:smollm2"], {"max_tokens": 32})
    assert provider.id == "openai+http://127.0.0.1:8765/v1?model=smollm2&api=chat"
    assert provider.config == {"max_tokens": 32, "temperature": 0.0}
    with pytest.raises(SuiteError, match="openai:image:x: 'openai:image:x': promptfoo's "):
        providers_for(Suite(), ["openai:image:x"])


# -- the request bodies themselves ------------------------------------------------------------

def body(model: OpenAIModel, sampling: SamplingSettings, prompt: str | None = None) -> dict:
    request = GenerationRequest(prompt=prompt, sampling=sampling) if prompt is not None else \
        GenerationRequest(messages=tuple(conversation("Hi")), sampling=sampling)
    return model.generate(request).body


def test_a_variant_that_sets_only_temperature_sends_only_temperature():
    model = OpenAIModel("http://127.0.0.1:1/v1", "m")
    assert body(model, SamplingSettings.given({"temperature": 0.2})) == {
        "model": "m", "temperature": 0.2, "stream": True,
        "messages": [{"role": "user", "content": "Hi"}]}
    # settings made without saying what was given (a run stored before; workbench
    # generate's flags) are all sent, as before
    legacy = body(model, SamplingSettings(temperature=0.2))
    assert legacy["repeat_penalty"] == 1.0 and legacy["top_k"] == 40
    # request keys as written, passthrough's last; the stream stays a stream
    extra = SamplingSettings.given({"temperature": 0.2}, {"temperature": 1, "stream": False,
                                                          "logit_bias": {"42": -100}})
    assert body(model, extra) == {"model": "m", "temperature": 1, "stream": True,
                                  "logit_bias": {"42": -100},
                                  "messages": [{"role": "user", "content": "Hi"}]}
    completion = OpenAIModel("http://127.0.0.1:1/v1", "m", api="completion")
    assert body(completion, SamplingSettings.given({}), prompt="Once")["prompt"] == "Once"
    chat = GenerationRequest(messages=tuple(conversation("Hi", "Be brief.")))
    with pytest.raises(RemoteError, match="takes one text, and this prompt is a chat"):
        completion.generate(chat)


def test_ollama_options_carry_the_settings_under_ollamas_names():
    model = OllamaModel("http://127.0.0.1:1", "llama3.2", api="generate")
    sampling = SamplingSettings.given({"max_tokens": 9, "stop": ["."]},
                                      {"options": {"num_ctx": 512}, "raw": True})
    assert body(model, sampling, prompt="Once") == {
        "model": "llama3.2", "prompt": "Once", "stream": True, "raw": True,
        "options": {"num_predict": 9, "stop": ["."], "num_ctx": 512}}
    with pytest.raises(RemoteError, match="takes no GBNF grammar"):
        model.generate(GenerationRequest(prompt="x", sampling=SamplingSettings(grammar="r")))


def test_an_ollama_model_embeds_through_ollamas_api():
    with recording(models=("nomic-embed-text:latest",)) as server:
        model = OllamaModel.from_reference(f"{server.url}?model=nomic-embed-text")
        assert model.embed(["a", "b"]) == [[1.0, 0.0], [1.0, 1.0]]
        [request] = server.posts()
    assert (request.path, request.body) == ("/api/embed", {
        "model": "nomic-embed-text", "input": ["a", "b"], "truncate": False})


def test_what_was_sent_is_kept_with_the_settings():
    sampling = SamplingSettings.given({"temperature": 0.0, "stop": ["\n"]},
                                      {"response_format": {"type": "json_object"}})
    assert SamplingSettings.from_dict(json.loads(json.dumps(sampling.to_dict()))) == sampling
    assert sampling.with_sent(top_k=5).sent == ("temperature", "stop", "top_k")
    assert "sent" not in SamplingSettings().to_dict()  # a local run's record is unchanged
    assert SamplingSettings().with_sent(top_k=5).sent is None


def test_eval_help_says_95_percent():
    done = workbench("eval", "--help")
    assert done.returncode == 0
    assert "95% intervals" in " ".join(done.stdout.split()) and "%%" not in done.stdout


def test_a_promptfoo_id_that_went_to_openai_says_what_to_set():
    from workbench.services.evaluation.suite_providers import with_hint

    provider = resolved("openai:chat:smollm2")
    assert with_hint(provider, "cannot reach https://api.openai.com/v1: no network") == (
        "cannot reach https://api.openai.com/v1: no network — openai:chat:smollm2 goes to "
        "OpenAI's API unless config.apiBaseUrl (or OPENAI_BASE_URL) names your server, e.g. "
        "apiBaseUrl: http://127.0.0.1:8080/v1")
    elsewhere = resolved("openai:chat:smollm2", apiBaseUrl="http://127.0.0.1:1/v1")
    assert with_hint(elsewhere, "nothing answers") == "nothing answers"


def test_a_window_variant_sends_what_its_row_sets(qtbot):
    from workbench.ui.compare.variants_table import SAMPLING_COLUMN, VariantsTable

    table = VariantsTable()
    qtbot.addWidget(table)
    table.add_variant(model="openai+http://127.0.0.1:1/v1?model=m", temperature=0.4, seed=-1,
                      max_tokens=64)
    table.table.cellWidget(0, SAMPLING_COLUMN).setText("--top-k 5")
    table.add_variant(model="SmolLM2-135M-Instruct", temperature=0.4, seed=3)
    remote, local = table.sampling(0), table.sampling(1)
    assert remote.sent == ("temperature", "max_tokens", "top_k")
    assert (remote.temperature, remote.max_tokens, remote.top_k, remote.seed) == \
        (0.4, 64, 5, None)
    assert local.sent is None and (local.temperature, local.seed) == (0.4, 3)
