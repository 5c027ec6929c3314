"""Shared, expensive pieces of the tuning tests: built once per session."""

from __future__ import annotations

import os

import pytest

# torch's OpenMP threads spin after each parallel region; on 2 cores they starve the model
# host's llama.cpp threads in the other process (16-token generations took 0.3 s or 30 s).
# Must be set before torch is first imported; the host child inherits it too.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def hf_bundled(bundled_model):
    """The bundled GGUF loaded by transformers (dequantized to float32), ~10 s on 2 cores."""
    import torch

    from workbench.tuning.trainer.hf_model import load_model

    torch.manual_seed(0)
    # load_model sets HF_HUB_OFFLINE for its process; scoped here, it cannot leak into later
    # tests (the hub and download tests need to be online against their fake hub).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        model = load_model(bundled_model)
    return model


@pytest.fixture(scope="session")
def f32_bundled(bundled_model, tmp_path_factory):
    """The bundled model with every tensor dequantized to F32: llama.cpp then computes with
    the same weights transformers trains on, without Q4_1's activation rounding."""
    from workbench.tuning.gguf_merge import write_merged_gguf

    out = tmp_path_factory.mktemp("f32") / "smollm2-f32.gguf"
    return write_merged_gguf(bundled_model, out, dequantize_all=True, out_type="F32")
