"""Chat templates: llama.cpp's built-ins as Jinja, and the template a model is rendered with.

Gemma 3 270M's file carries no template: it must get llama.cpp's Gemma template, not ChatML.
The built-ins are checked against llama.cpp's own ``llama_chat_apply_template``.
"""

from __future__ import annotations

import ctypes
import threading

import llama_cpp
import pytest

from workbench.cli.main import main as cli_main
from workbench.core.chat_template import (
    BUILTIN_TEMPLATES,
    ChatTemplateError,
    TemplateChoice,
    render_chat,
)
from workbench.core.generation import GenerationRequest
from workbench.core.messages import ChatMessage
from workbench.core.model_info import LoadSettings
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost
from workbench.services.models import ModelService

CONVERSATIONS = [
    [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"),
     ("user", "What is a prompt?")],
    [("user", "  spaced out  \n")],
    [("system", "One."), ("system", " Two."), ("user", "x"), ("assistant", " y ")],
]


def llama_cpp_render(name: str, conversation, add_generation_prompt: bool) -> str:
    messages = (llama_cpp.llama_chat_message * len(conversation))()
    keep = []  # the bytes must outlive the call
    for slot, (role, content) in zip(messages, conversation):
        role_bytes, content_bytes = role.encode(), content.encode()
        keep += [role_bytes, content_bytes]
        slot.role, slot.content = role_bytes, content_bytes
    buffer = ctypes.create_string_buffer(16384)
    n = llama_cpp.llama_chat_apply_template(name.encode(), messages, len(conversation),
                                            add_generation_prompt, buffer, len(buffer))
    assert n > 0, f"llama.cpp does not know the template '{name}'"
    return buffer.raw[:n].decode()


@pytest.mark.parametrize("name", sorted(BUILTIN_TEMPLATES))
def test_each_builtin_renders_as_llama_cpp_does(name):
    for conversation in CONVERSATIONS:
        for add in (True, False):
            ours = render_chat(BUILTIN_TEMPLATES[name],
                               [ChatMessage(role, content) for role, content in conversation],
                               add_generation_prompt=add)
            assert ours == llama_cpp_render(name, conversation, add), (name, conversation, add)


def test_a_bad_template_is_refused_with_its_line_and_not_kept(gemma_model):
    models = ModelService()
    bad = "{% for message in messages %}\n{{ message['content'] }\n{% endfor %}"
    with pytest.raises(ChatTemplateError, match="line 2"):
        models.choose_template(str(gemma_model), TemplateChoice(jinja=bad))
    with pytest.raises(ChatTemplateError, match="no built-in chat template named 'nope'"):
        models.choose_template(str(gemma_model), TemplateChoice(name="nope"))
    assert models.template_choice(str(gemma_model)) is None


@pytest.fixture(scope="module")
def gemma_host(gemma_model, tmp_path_factory):
    host = ModelHost(LoadSettings(str(gemma_model), n_ctx=1024, n_parallel=1),
                     logs_dir=tmp_path_factory.mktemp("gemma-logs"))
    host.start()
    yield host
    host.close()


def test_a_file_without_template_gets_llama_cpp_gemma_template_and_no_chatml(gemma_host):
    meta = gemma_host.metadata
    assert meta.vocab_size == 262_144 and meta.architecture == "gemma3"
    assert not meta.file_has_chat_template
    assert meta.chat_template_source == "built-in gemma"
    messages = [ChatMessage("user", "What is a prompt?")]
    rendered = gemma_host.render(messages)
    assert rendered == "<start_of_turn>user\nWhat is a prompt?<end_of_turn>\n<start_of_turn>model\n"
    result = gemma_host.generate(GenerationRequest(messages=tuple(messages),
                                                   sampling=GREEDY.with_(max_tokens=24))).result()
    assert result.text and "<|im_" not in result.text


def test_info_names_the_template_used_and_why(gemma_model, capsys):
    assert cli_main(["info", str(gemma_model), "--n-ctx", "512"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines()
                if row.startswith("chat template"))
    assert "built-in gemma" in line and "the file has none" in line


class Recorder:
    """The run's listener: keeps the finished cells, says when the run ends."""

    def __init__(self):
        self.outputs, self.finished = [], threading.Event()

    def cell_started(self, variant_id, case_id):
        pass

    def cell_token(self, variant_id, case_id, text):
        pass

    def cell_finished(self, output):
        self.outputs.append(output)

    def run_finished(self, run_id, status):
        self.finished.set()


def test_a_pasted_template_is_used_and_recorded_with_each_output(gemma_model):
    from workbench.services.compare import RunService, VariantSpec
    from workbench.services.sessions import open_store
    from workbench.services.workspace import WorkspaceService

    mine = ("{% for message in messages %}<start_of_turn>{{ message['role'] }}\n"
            "MINE {{ message['content'] }}<end_of_turn>\n{% endfor %}"
            "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
    store, models = open_store(), ModelService()
    try:
        models.choose_template(str(gemma_model), TemplateChoice(jinja=mine))
        assert models.template_choice(str(gemma_model)) == TemplateChoice(jinja=mine)
        workspace, runs = WorkspaceService(store), RunService(store, models)
        ws = workspace.create_session("Template")
        version = workspace.save_version(ws.prompt.id, "", [], "{{ q }}", parent_id=None)
        cases = workspace.save_cases(ws.case_set, [({"q": "Hello"}, "")])
        spec = VariantSpec("gemma", version, str(gemma_model), GREEDY.with_(max_tokens=4),
                           n_ctx=512)
        recorder = Recorder()
        runs.start(ws.session.id, cases.id, cases.cases, [spec], recorder)
        assert recorder.finished.wait(120)
        assert len(recorder.outputs) == 1 and not recorder.outputs[0].error
        [host] = models.loaded()
        assert host.metadata.chat_template_source == "user"
        assert "MINE Hello" in host.render([ChatMessage("user", "Hello")])
        [stored] = workspace.open(ws.session.id).outputs
        assert stored.chat_template == mine
    finally:
        models.close()
        store.close()
