"""The memory estimate against what llama.cpp really allocates, and the n_gpu_layers advice."""

from __future__ import annotations

import pytest

from workbench.core.model_info import LoadSettings
from workbench.engine.host.client import ModelHost
from workbench.library.fit import KVTypes, estimate_fit, kv_cache_bytes
from workbench.library.gguf_metadata import read_gguf_info
from workbench.library.load_usage import parse_load_log
from workbench.library.system_memory import Memory, system_memory
from workbench.services.library import LibraryService

GiB = 1024 ** 3
MiB = 1024 ** 2


@pytest.fixture(scope="module")
def info(bundled_model):
    return read_gguf_info(bundled_model)


def _memory(ram=16 * GiB, vram=None):
    return Memory(ram, ram, vram, vram, "test GPU" if vram else "free VRAM unknown: no GPU")


def test_estimate_matches_the_buffers_llama_cpp_allocates(info, shared_host):
    usage = LibraryService.actual_usage(shared_host)  # shared_host: n_ctx 2048
    estimate = estimate_fit(info, 2048, _memory())  # the CPU default: 4 sequences
    assert shared_host.metadata.engine["n_parallel"] == estimate.n_parallel == 4
    assert usage.kind_total("KV") == estimate.kv_cache  # exact: same formula as llama.cpp
    assert estimate_fit(info, 2048, _memory(), n_parallel=1).kv_cache * 4 == estimate.kv_cache
    assert usage.kind_total("model") == pytest.approx(estimate.weights, rel=0.1)
    assert usage.kind_total("compute") == pytest.approx(estimate.compute, rel=0.1)
    assert usage.ram == pytest.approx(estimate.total, rel=0.05)
    assert usage.rss and usage.rss > 50 * MiB
    assert "llama.cpp buffers" in usage.summary()


@pytest.mark.parametrize("cache", ["q8_0", "q4_0"])
def test_a_quantized_kv_cache_is_what_llama_cpp_allocates(info, bundled_model, tmp_path, cache):
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=512, n_parallel=2, flash_attn="on",
                                  cache_type_k=cache, cache_type_v=cache), logs_dir=tmp_path)
    host.start()
    try:
        usage = LibraryService.actual_usage(host)
    finally:
        host.close()
    kv = KVTypes(cache, cache)
    estimate = estimate_fit(info, 512, _memory(), n_parallel=2, kv=kv).kv_cache
    # Exact, as far as the log's two decimals of MiB tell.
    assert usage.kind_total("KV") == pytest.approx(estimate, abs=0.006 * MiB)
    assert estimate == kv_cache_bytes(info, 512 * 2, kv=kv) < kv_cache_bytes(info, 512 * 2) / 1.8


def test_unknown_vram_recommends_cpu_and_says_why(info):
    estimate = estimate_fit(info, 4096, _memory(vram=None))
    assert estimate.recommended_gpu_layers == 0 and estimate.fits
    assert any("free VRAM unknown" in n for n in estimate.notes)
    assert "n_gpu_layers 0" in estimate.summary()


def test_plenty_of_vram_offloads_everything(info):
    estimate = estimate_fit(info, 4096, _memory(vram=24 * GiB), offload_supported=True)
    assert estimate.recommended_gpu_layers == info.n_layers + 1
    assert "all layers on the GPU" in estimate.summary()
    assert estimate.gpu_bytes > estimate.kv_cache


def test_little_vram_offloads_some_layers(info):
    # Headroom 512 MiB + compute ≈ 133 MiB at n_ctx 4096; about 70 MiB left for layers.
    estimate = estimate_fit(info, 4096, _memory(vram=715 * MiB), offload_supported=True)
    assert 0 < estimate.recommended_gpu_layers < info.n_layers
    assert estimate.gpu_bytes <= 715 * MiB - 512 * MiB


def test_a_cpu_only_llama_cpp_offloads_nothing(info):
    estimate = estimate_fit(info, 4096, _memory(vram=24 * GiB), offload_supported=False)
    assert estimate.recommended_gpu_layers == 0
    assert any("CPU only" in n for n in estimate.notes)


def test_too_little_ram_does_not_fit(info):
    estimate = estimate_fit(info, 8192, _memory(ram=300 * MiB))
    assert not estimate.fits and "does NOT fit" in estimate.summary()


def test_context_beyond_training_is_flagged(info):
    estimate = estimate_fit(info, 16384, _memory())
    assert any("beyond the trained context of 8,192" in n for n in estimate.notes)


def test_gpu_buffers_count_as_vram():
    log = ("llama_model_loader: loaded meta data with 3 key-value pairs\n"
           "load_tensors: offloaded 33/33 layers to GPU\n"
           "load_tensors:        CUDA0 model buffer size =  4096.00 MiB\n"
           "load_tensors:   CPU_Mapped model buffer size =   281.81 MiB\n"
           "llama_kv_cache:      CUDA0 KV buffer size =   512.00 MiB\n"
           "sched_reserve:      CUDA0 compute buffer size =   300.00 MiB\n"
           "sched_reserve:  CUDA_Host compute buffer size =    20.00 MiB\n")
    usage = parse_load_log(log)
    assert usage.vram == (4096 + 512 + 300) * MiB
    assert usage.ram == int(281.81 * MiB) + 20 * MiB
    assert usage.layers_offloaded == 33


def test_this_machine_reports_free_ram():
    memory = system_memory()
    assert memory.free_ram and memory.total_ram and memory.free_ram <= memory.total_ram
    assert memory.free_vram is not None or "unknown" in memory.gpu
