"""LoRA adapters given at load time, with scales (real llama.cpp, a generated adapter file)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fixtures.tiny_lora import write_lora
from workbench.core.errors import ModelFileError
from workbench.core.generation import GenerationRequest
from workbench.core.messages import conversation
from workbench.core.model_info import AdapterSpec, LoadSettings
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost

REQUEST = GenerationRequest(messages=tuple(conversation("Name a fruit.")),
                            sampling=GREEDY.with_(max_tokens=12))


def greedy_ids(model, tmp_path, adapters=()):
    host = ModelHost(LoadSettings(str(model), n_ctx=512, adapters=adapters),
                     logs_dir=tmp_path / "logs")
    try:
        host.start()
        return host.generate(REQUEST).result().token_ids
    finally:
        host.close()


def test_adapter_changes_output_and_scale_zero_or_no_effect_does_not(tmp_path, bundled_model):
    base = greedy_ids(bundled_model, tmp_path)
    strong = write_lora(tmp_path / "strong.gguf", strength=3.0)
    neutral = write_lora(tmp_path / "neutral.gguf", strength=0.0)
    assert greedy_ids(bundled_model, tmp_path, (AdapterSpec(str(strong), 1.0),)) != base
    assert greedy_ids(bundled_model, tmp_path, (AdapterSpec(str(strong), 0.0),)) == base
    assert greedy_ids(bundled_model, tmp_path, (AdapterSpec(str(neutral), 1.0),)) == base


def test_adapter_llama_cpp_cannot_apply_is_refused_before_loading(tmp_path, bundled_model):
    # F64 tensors make llama.cpp's decode crash; the check names the file and the reason.
    bad = write_lora(tmp_path / "f64.gguf", strength=1.0, dtype=np.float64)
    host = ModelHost(LoadSettings(str(bundled_model), adapters=(AdapterSpec(str(bad)),)),
                     logs_dir=tmp_path)
    with pytest.raises(ModelFileError, match="stored as F64") as caught:
        host.start()
    assert str(bad) in str(caught.value)
    assert host.pid is None  # no process was started for it


def test_a_model_file_given_as_adapter_is_refused(tmp_path, bundled_model):
    host = ModelHost(LoadSettings(str(bundled_model), adapters=(AdapterSpec(str(bundled_model)),)),
                     logs_dir=tmp_path)
    with pytest.raises(ModelFileError, match="not a LoRA adapter"):
        host.start()


def test_adapters_per_request_share_one_loaded_model(tmp_path, bundled_model):
    strong = write_lora(tmp_path / "strong.gguf", strength=3.0)
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=512), logs_dir=tmp_path / "logs")
    host.start()
    try:
        def ids(adapters):
            return host.generate(GenerationRequest(messages=REQUEST.messages,
                                                   sampling=REQUEST.sampling,
                                                   adapters=adapters)).result().token_ids

        base = ids(())
        full = ids((AdapterSpec(str(strong), 1.0),))
        half = ids((AdapterSpec(str(strong), 0.5),))
        # Switching back must not reuse keys/values computed under the adapter.
        assert ids(()) == base
        assert ids((AdapterSpec(str(strong), 1.0),)) == full
        assert full != base and half not in (base, full)
        assert ids(None) == base  # loaded without adapters: None means "as loaded"
        pid = host.pid
    finally:
        host.close()
    # The same adapter given at load time gives the same tokens as per request.
    assert greedy_ids(bundled_model, tmp_path, (AdapterSpec(str(strong), 1.0),)) == full
    assert pid is not None


def test_a_bad_adapter_in_a_request_is_refused_before_the_host_sees_it(shared_host, tmp_path):
    bad = write_lora(tmp_path / "f64.gguf", strength=1.0, dtype=np.float64)
    with pytest.raises(ModelFileError, match="stored as F64"):
        shared_host.generate(GenerationRequest(messages=REQUEST.messages, sampling=REQUEST.sampling,
                                               adapters=(AdapterSpec(str(bad)),)))
    assert shared_host.generate(REQUEST).result().text  # still alive and well
