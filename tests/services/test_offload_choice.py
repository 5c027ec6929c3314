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
    assert chosen.n_gpu_layers == total
    assert reason == f"all {total} layers fit in 22.0 GiB free VRAM"


def test_auto_with_little_vram_loads_the_layers_that_fit(total):
    service = _service(700 * MiB, offload=True)
    settings = service.settings_for(None, n_ctx=4096)
    chosen, reason = service.with_offload(settings)
    assert 0 < chosen.n_gpu_layers < total
    assert reason.startswith(f"{chosen.n_gpu_layers} of {total} layers fit in 700.0 MiB")
    # Only the layer count changes; everything else is what was asked for.
    assert chosen.n_ctx == settings.n_ctx and chosen.path == settings.path
    # Fewer parallel sequences need less KV cache, so more layers fit.
    single, _ = service.with_offload(service.settings_for(None, n_ctx=4096, n_parallel=1))
    assert single.n_gpu_layers > chosen.n_gpu_layers


def test_a_number_the_user_typed_is_kept():
    service = _service(22 * GiB, offload=True)
    chosen, reason = service.with_offload(service.settings_for(None, n_gpu_layers=5))
    assert chosen.n_gpu_layers == 5 and reason == ""


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
