"""A model file whose chat template tries to reach Python's internals, or asks for gigabytes:
the sandbox refuses it with one clear sentence, in the host and on the command line; nothing
crashes, nothing runs, nothing hangs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures.bad_models import with_chat_template
from workbench.core.errors import HostRequestError, WorkbenchError
from workbench.core.generation import GenerationRequest
from workbench.core.messages import ChatMessage
from workbench.core.model_info import LoadSettings
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost
from workbench.services.models import ModelService

HOSTILE = ("{% for m in messages %}{{ m.__class__.__mro__[1].__subclasses__()[0]"
           ".__init__.__globals__ }}{% endfor %}")


@pytest.fixture(scope="module")
def hostile_model(bundled_model, tmp_path_factory) -> str:
    return str(with_chat_template(tmp_path_factory.mktemp("hostile"), bundled_model, HOSTILE,
                                  "hostile-template.gguf"))


def test_the_host_refuses_the_template_and_stays_alive(hostile_model, tmp_path):
    settings = ModelService().settings_for(hostile_model, n_ctx=512, n_parallel=1)
    host = ModelHost(settings, logs_dir=tmp_path)
    try:
        meta = host.start()
        assert "__subclasses__" in (meta.chat_template or "")  # the file's own, as read
        with pytest.raises(WorkbenchError, match="(?i)template") as raised:
            host.render([ChatMessage("user", "hi")])
        message = str(raised.value)
        assert "unsafe" in message.lower() or "not allowed" in message.lower(), message
        assert "Traceback" not in message and "\n" not in message.strip()
        # the same host still answers: nothing crashed
        assert host.tokenize("hello", add_special=False)
        assert host.detokenize(host.tokenize("hello", add_special=False)) == "hello"
    finally:
        host.close()


def test_the_command_line_says_what_is_wrong_in_one_line(hostile_model):
    done = subprocess.run([sys.executable, "-m", "workbench", "generate", "-m", hostile_model,
                           "--max-tokens", "4", "hi"], capture_output=True, text=True,
                          timeout=300, env=os.environ.copy(), check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("workbench: error:") and "Traceback" not in done.stderr
    assert "template" in done.stderr.lower()
    # --raw skips the chat template: the same file still generates
    raw = subprocess.run([sys.executable, "-m", "workbench", "generate", "-m", hostile_model,
                          "--raw", "--max-tokens", "4", "--temp", "0", "Hello"],
                         capture_output=True, text=True, timeout=300, env=os.environ.copy(),
                         check=False)
    assert raw.returncode == 0, raw.stderr


# It once held the host's worker for minutes at 1.4 GB; the thread timeout turns a regression
# into a failure (with the stacks) rather than a hung run.
BOMB = "{% for message in messages %}{{ 'x' * 300000000 }}{% endfor %}"
REFUSED = ("The chat template was refused: '*' would make a string of 300,000,000 characters "
           "(the limit is 10,000,000).")


@pytest.mark.timeout(240, method="thread")
@pytest.mark.parametrize("where", ["file", "pasted"])
def test_a_template_asking_for_gigabytes_is_refused_and_the_host_goes_on(where, bundled_model,
                                                                          tmp_path):
    if where == "file":
        path = with_chat_template(tmp_path, bundled_model, BOMB, "bomb.gguf")
        settings = LoadSettings(str(path), n_ctx=512, n_parallel=1)
    else:  # the user's own template for the file (Compose ▸ Chat template…)
        settings = LoadSettings(str(bundled_model), n_ctx=512, n_parallel=1, template_jinja=BOMB)
    host = ModelHost(settings, logs_dir=tmp_path / "logs")
    try:
        meta = host.start()
        assert meta.chat_template_source == ("file" if where == "file" else "user")
        messages = (ChatMessage("user", "Hi"),)
        with pytest.raises(HostRequestError) as raised:
            host.render(messages)
        assert str(raised.value) == REFUSED
        with pytest.raises(HostRequestError) as raised:
            host.generate(GenerationRequest(messages=messages,
                                            sampling=GREEDY.with_(max_tokens=2))).result()
        assert str(raised.value) == REFUSED
        assert host.tokenize("hello", add_special=False)  # the same host answers
    finally:
        host.close()
