""""auto" GPU layers: the service loads with the number the memory-fit estimate chooses, on
recorded VRAM figures (no GPU here), and says why; a CPU-only llama.cpp changes nothing."""

from __future__ import annotations

import pytest

from workbench.library.gguf_metadata import read_gguf_info
from workbench.library.offload import offload_in_build
from workbench.library.system_memory import Memory
from workbench.services.models import CPU_ONLY_REASON, ModelService

GiB, MiB = 1024 ** 3, 1024 ** 2


def _service(vram: int | None, offload: bool | None) -> ModelService:
    memory = Memory(32 * GiB, 64 * GiB, vram, 24 * GiB, "NVIDIA GeForce RTX 4090")
    return ModelService(memory=lambda: memory, offload_supported=offload)


@pytest.fixture(scope="module")
def total(bundled_model) -> int:
    return read_gguf_info(bundled_model).n_layers + 1


def test_auto_with_room_for_everything_loads_every_layer(total):
    service = _service(22 * GiB, offload=True)
    chosen, reason = service.with_offload(service.settings_for(None, n_ctx=4096))
    assert (chosen.n_gpu_layers, chosen.n_parallel) == (total, 8)
    assert reason == f"all {total} layers fit in 22.0 GiB free VRAM with 8 parallel sequences"


def test_auto_with_little_vram_loads_the_layers_that_fit(total):
    service = _service(700 * MiB, offload=True)
    settings = service.settings_for(None, n_ctx=4096)
    chosen, reason = service.with_offload(settings)
    assert 0 < chosen.n_gpu_layers < total
    assert reason.startswith(f"{chosen.n_gpu_layers} of {total} layers fit in 700.0 MiB")
    # Sequences gave way first: one is left, each owning an n_ctx of KV cache.
    assert chosen.n_parallel == 1 and "with 1 parallel sequence (8 would need" in reason
    # Only layers and sequences change; everything else is what was asked for.
    assert chosen.n_ctx == settings.n_ctx and chosen.path == settings.path
    # Eight sequences as set are kept, and leave room for fewer layers.
    eight, why = service.with_offload(service.settings_for(None, n_ctx=4096, n_parallel=8))
    assert eight.n_parallel == 8 and eight.n_gpu_layers < chosen.n_gpu_layers
    assert "with 8 parallel sequences (as set)" in why


def test_a_number_the_user_typed_is_kept():
    service = _service(22 * GiB, offload=True)
    chosen, reason = service.with_offload(service.settings_for(None, n_gpu_layers=5))
    assert (chosen.n_gpu_layers, chosen.n_parallel) == (5, 8)
    assert reason == "5 of 31 layers on the GPU as set, with 8 parallel sequences"
    both = service.settings_for(None, n_gpu_layers=5, n_parallel=2)
    assert service.with_offload(both) == (both, "")


def test_a_cpu_only_llama_cpp_leaves_auto_to_the_host():
    service = _service(22 * GiB, offload=False)
    settings = service.settings_for(None)
    assert service.with_offload(settings) == (settings, "")


@pytest.mark.skipif(offload_in_build() is not False, reason="this llama.cpp can offload")
def test_on_this_cpu_machine_a_load_offloads_nothing_and_says_why():
    service = ModelService()  # the machine's own memory and llama.cpp
    try:
        host = service.load_named(None, n_ctx=512, n_parallel=1)
        meta = host.metadata
        assert host.settings.n_gpu_layers is None  # "auto" went to the host unchanged
        assert meta.offload_supported is False and meta.gpu_layers_requested == 0
        assert meta.offload_reason == CPU_ONLY_REASON
        # The next "auto" load finds the same host.
        assert service.load_named(None, n_ctx=512, n_parallel=1) is host
    finally:
        service.close()
