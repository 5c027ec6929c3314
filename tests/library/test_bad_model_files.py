"""Bad model files are refused with one clear message naming the file and the reason."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures import bad_models
from workbench.core.errors import ModelFileError, ModelNotFoundError
from workbench.services.models import ModelService

CASES = {
    "empty": (lambda d, m: bad_models.empty_file(d), "the file is empty"),
    "not gguf": (lambda d, m: bad_models.not_gguf(d), "is not a GGUF file"),
    "cut header": (bad_models.truncated_header, "truncated or damaged"),
    "cut data": (bad_models.truncated_data, "bytes, its tensors need"),  # the precise reason
    "unknown architecture": (lambda d, m: bad_models.unknown_architecture(d),
                             "does not know the model architecture 'frobnicator'"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_file_is_refused_with_a_clear_message(case, tmp_path, bundled_model):
    make, reason = CASES[case]
    path = make(tmp_path, bundled_model)
    service = ModelService()
    with pytest.raises(ModelFileError) as caught:
        service.load_named(str(path))
    message = str(caught.value)
    assert message.startswith(f"Cannot use model file {path}")
    assert reason in message
    assert "\n" not in message and "Traceback" not in message
    assert service.loaded() == []  # nothing half-loaded is left behind


@pytest.mark.parametrize("case", CASES)
def test_cli_reports_a_bad_file_in_one_line(case, tmp_path, bundled_model):
    make, reason = CASES[case]
    path = make(tmp_path, bundled_model)
    done = subprocess.run([sys.executable, "-m", "workbench", "info", str(path)],
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert reason in lines[0] and str(path) in lines[0]


def test_missing_file_and_unknown_name(tmp_path):
    service = ModelService()
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        service.load_named(str(tmp_path / "nothing.gguf"))
    with pytest.raises(ModelNotFoundError, match="No model named 'nothing'"):
        service.load_named("nothing")
    with pytest.raises(ModelFileError, match="it is a folder"):
        service.load_named(str(tmp_path))


def test_the_good_model_still_loads_after_bad_ones(tmp_path, bundled_model):
    service = ModelService()
    with pytest.raises(ModelFileError):
        service.load_named(str(bad_models.unknown_architecture(tmp_path)))
    host = service.load_named(None, n_ctx=512)
    try:
        assert host.metadata.architecture == "llama"
    finally:
        service.close()
