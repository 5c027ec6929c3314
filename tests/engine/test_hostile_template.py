"""A model file whose chat template tries to reach Python's internals: the sandbox refuses it
with one clear sentence, in the host and on the command line; nothing crashes, nothing runs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures.bad_models import with_chat_template
from workbench.core.errors import WorkbenchError
from workbench.core.messages import ChatMessage
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
