"""GPU layers and parallel sequences chosen together, on real models' shapes and real cards.

The models are GGUF headers of Llama 3.2 1B / 3B, Llama 3.1 8B and Qwen2.5 14B at Q4_K_M
(tests/fixtures/model_shapes.py names where each shape and size comes from), written with the
project's own GGUF writer and read back by the library as any model file. The cards are 6, 8,
12 and 24 GB with 300 MiB already taken by the desktop. Each parallel sequence owns a whole
n_ctx of KV cache, so "auto" gives up sequences (8 → 4 → 2 → 1) before it gives up layers.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures.model_shapes import REAL_SHAPES, write_shape
from workbench.library.fit import KVTypes, estimate_fit, kv_cache_bytes
from workbench.library.gguf_metadata import read_gguf_info
from workbench.library.offload import choose_offload
from workbench.library.system_memory import Memory
from workbench.services.library import LibraryService

GiB, MiB = 1024 ** 3, 1024 ** 2
N_CTX = 4096
CARDS = (6, 8, 12, 24)

# model -> {card GB: (n_gpu_layers, n_parallel)} at n_ctx 4096, f16 KV cache.
EXPECTED = {
    "Llama-3.2-1B-Instruct": {6: (17, 8), 8: (17, 8), 12: (17, 8), 24: (17, 8)},
    "Llama-3.2-3B-Instruct": {6: (29, 4), 8: (29, 8), 12: (29, 8), 24: (29, 8)},
    "Llama-3.1-8B-Instruct": {6: (33, 1), 8: (33, 4), 12: (33, 8), 24: (33, 8)},
    "Qwen2.5-14B-Instruct": {6: (28, 1), 8: (40, 1), 12: (49, 2), 24: (49, 8)},
}


def card(gb: int) -> Memory:
    return Memory(32 * GiB, 64 * GiB, gb * GiB - 300 * MiB, gb * GiB, f"NVIDIA {gb} GB card")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("shapes")
    return {s.name: (s, write_shape(folder, s)) for s in REAL_SHAPES}


@pytest.mark.parametrize("shape", REAL_SHAPES, ids=lambda s: s.name)
def test_the_written_headers_read_back_as_the_real_models(models, shape):
    info = read_gguf_info(models[shape.name][1])
    assert (info.n_layers, info.embedding_length, info.head_count, info.head_count_kv,
            info.key_length, info.vocab_size) == (shape.layers, shape.n_embd, shape.n_head,
                                                  shape.n_head_kv, shape.head_dim, shape.vocab)
    assert info.quantization == "Q4_K_M"
    # The Q4_K_M mix of tensor types gives the published file size (within 2%).
    assert info.file_size == pytest.approx(shape.q4_k_m_gb * 1e9, rel=0.02)


@pytest.mark.parametrize("gb", CARDS)
@pytest.mark.parametrize("shape", REAL_SHAPES, ids=lambda s: s.name)
def test_auto_chooses_layers_and_parallel_sequences_together(models, shape, gb):
    info = read_gguf_info(models[shape.name][1])
    choice = choose_offload(info, N_CTX, None, card(gb), offload_supported=True)
    assert (choice.n_gpu_layers, choice.n_parallel) == EXPECTED[shape.name][gb]
    total = info.n_layers + 1
    # Whatever was chosen fits the card by the same estimate…
    estimate = estimate_fit(info, N_CTX, card(gb), offload_supported=True,
                            n_parallel=choice.n_parallel)
    assert estimate.recommended_gpu_layers == choice.n_gpu_layers
    assert estimate.gpu_bytes + 512 * MiB <= card(gb).free_vram
    # …and twice the sequences would not have kept the same layers.
    if choice.n_parallel < 8:
        doubled = estimate_fit(info, N_CTX, card(gb), offload_supported=True,
                               n_parallel=choice.n_parallel * 2)
        assert doubled.recommended_gpu_layers < total
        assert "8 would need" in choice.reason
    if choice.n_gpu_layers < total:
        assert choice.n_parallel == 1  # sequences went first


def test_the_issue_case_an_8b_model_on_an_8_gb_card(models):
    """8B at 4096 tokens × 8 sequences needs 4 GiB of KV on top of ~4.6 GiB of weights."""
    info = read_gguf_info(models["Llama-3.1-8B-Instruct"][1])
    assert kv_cache_bytes(info, N_CTX * 8) == 4 * GiB
    choice = choose_offload(info, N_CTX, None, card(8), offload_supported=True)
    assert choice.reason == ("all 33 layers fit in 7.7 GiB free VRAM with 4 parallel sequences "
                             "(8 would need 4.0 GiB of KV cache: each sequence keeps its own "
                             "4,096 tokens)")
    # A q8_0 KV cache is about half the size: the advice says 8 would then fit, with its
    # measured effect.
    assert choice.advice.startswith("With -ctk q8_0 -ctv q8_0 -fa on, 8 parallel sequences "
                                    "with all 33 layers would fit (measured on the bundled "
                                    "model: KV cache 47% smaller")
    q8 = KVTypes("q8_0", "q8_0")
    assert kv_cache_bytes(info, N_CTX * 8, kv=q8) == 4 * GiB * 34 // 64
    with_q8 = choose_offload(info, N_CTX, None, card(8), offload_supported=True, kv=q8)
    assert (with_q8.n_gpu_layers, with_q8.n_parallel, with_q8.advice) == (33, 8, "")


def test_what_the_user_set_is_kept_and_the_other_gives_way(models):
    info = read_gguf_info(models["Qwen2.5-14B-Instruct"][1])
    # Eight sequences as set: only layers give way.
    parallel_set = choose_offload(info, N_CTX, 8, card(12), offload_supported=True)
    assert parallel_set.n_parallel == 8 and 0 < parallel_set.n_gpu_layers < 49
    assert parallel_set.reason.endswith("with 8 parallel sequences (as set)")
    # Every layer as set: sequences give way.
    layers_set = choose_offload(info, N_CTX, None, card(12), offload_supported=True,
                                n_gpu_layers=49)
    assert (layers_set.n_gpu_layers, layers_set.n_parallel) == (49, 2)
    assert layers_set.reason == "49 of 49 layers on the GPU as set, with 2 parallel sequences"
    both = choose_offload(info, N_CTX, 8, card(12), offload_supported=True, n_gpu_layers=49)
    assert both.n_parallel == 8 and "only" in both.reason and "fit in 11.7 GiB" in both.reason


def test_a_model_too_big_for_the_card_runs_on_the_cpu_with_the_cpu_default(models):
    info = read_gguf_info(models["Qwen2.5-14B-Instruct"][1])
    choice = choose_offload(info, N_CTX, None, card(1), offload_supported=True)
    assert (choice.n_gpu_layers, choice.n_parallel) == (0, 4)
    assert choice.reason.endswith("the model runs on the CPU, with 4 parallel sequences")


def test_the_library_service_says_what_auto_would_pick(models):
    path = models["Llama-3.1-8B-Instruct"][1]
    service = LibraryService()
    try:
        choice = service.offload_choice(str(path), N_CTX, memory=card(8), offload_supported=True)
    finally:
        service.close()
    assert (choice.n_gpu_layers, choice.n_parallel) == (33, 4)
    assert choice.describe().startswith(choice.reason + ". With -ctk q8_0")
    # The estimate the Models tab, the doctor and `workbench fit` show is auto's.
    service = LibraryService()
    try:
        estimate = service.fit(str(path), N_CTX, memory=card(8), offload_supported=True)
        cpu = service.fit(str(path), N_CTX, memory=card(8), offload_supported=False)
    finally:
        service.close()
    assert estimate.n_parallel == 4 and estimate.recommended_gpu_layers == 33
    assert estimate.notes[-1] == f"auto loads it with 33 GPU layers and 4 parallel: " \
                                 f"{choice.describe()}"
    assert cpu.n_parallel == 4 and not any(n.startswith("auto") for n in cpu.notes)


def test_workbench_fit_plans_for_a_card_by_its_free_vram(models):
    """The command a user runs before buying or loading: what auto picks on that card."""
    path = models["Llama-3.1-8B-Instruct"][1]
    done = subprocess.run([sys.executable, "-m", "workbench", "fit", str(path),
                           "--free-vram", "7.7"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "(4 parallel, each its own KV cache)" in lines[0]  # the estimate for auto's choice
    assert "fits with n_gpu_layers 33 (all layers on the GPU)" in lines[0]
    assert lines[-1].startswith("  note: auto loads it with 33 GPU layers and 4 parallel: all "
                                "33 layers fit in 7.7 GiB free VRAM with 4 parallel sequences "
                                "(8 would need 4.0 GiB of KV cache")
