"""What a user of a GPU build meets, on llama.cpp's Vulkan back-end: the device and its free
memory read from the back-end and used by auto's choice, `workbench doctor` and `workbench
info` naming them.

Not here: a real out-of-memory. lavapipe reports 2,048 MiB free but allocates beyond it (a
2,880 MiB KV cache of 8 × 16,384 tokens loaded on it), so no load fails on it for memory; the
one-line message is tested on recorded logs (tests/library/test_offload.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from workbench.core.model_info import human_bytes
from workbench.library.gpu_devices import MiB, devices_in_log
from workbench.library.system_memory import system_memory
from workbench.services.models import ModelService

TOTAL_LAYERS = 31  # SmolLM2-135M: 30 blocks and the output head
# Each sequence keeps its own n_ctx of KV cache (23,040 bytes a token for the bundled model):
# 8 × 8,192 tokens (1.4 GiB of KV) leave too little of a 2 GiB device for the compute buffer
# and headroom, so auto gives up sequences.
ROOMY_CTX, TIGHT_CTX = 4096, 8192


def workbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=600)


def test_the_backend_reports_the_device_the_load_uses(bundled_model, vulkan_device):
    memory = system_memory()
    assert memory.device == vulkan_device.label()
    assert memory.free_vram == vulkan_device.free and memory.total_vram == vulkan_device.total
    assert 0 < vulkan_device.free <= vulkan_device.total
    service = ModelService()
    try:
        host = service.load_named(str(bundled_model), n_ctx=ROOMY_CTX)
        log = host.log_path.read_text(encoding="utf-8", errors="replace")
    finally:
        service.close()
    # llama.cpp's own line at the load names the same device with the same free memory.
    assert devices_in_log(log) == [(vulkan_device.label(), vulkan_device.free // MiB)]
    assert host.metadata.gpu_layers_offloaded == TOTAL_LAYERS


def test_auto_takes_the_devices_free_memory_and_gives_up_sequences_first(
        bundled_model, vulkan_device):
    free = f"{human_bytes(vulkan_device.free)} free VRAM on {vulkan_device.label()}"
    service = ModelService()
    try:
        roomy, why = service.with_offload(service.settings_for(str(bundled_model),
                                                               n_ctx=ROOMY_CTX))
        assert (roomy.n_gpu_layers, roomy.n_parallel) == (TOTAL_LAYERS, 8)
        assert why == f"all {TOTAL_LAYERS} layers fit in {free} with 8 parallel sequences"
        tight, why = service.with_offload(service.settings_for(str(bundled_model),
                                                               n_ctx=TIGHT_CTX))
        assert (tight.n_gpu_layers, tight.n_parallel) == (TOTAL_LAYERS, 4)
        assert why.startswith(f"all {TOTAL_LAYERS} layers fit in {free} with 4 parallel "
                              "sequences (8 would need 1.4 GiB of KV cache")
        # …and that choice loads on the device, every layer on it.
        host = service.load_named(str(bundled_model), n_ctx=TIGHT_CTX)
        assert host.metadata.gpu_layers_offloaded == TOTAL_LAYERS
        assert host.metadata.engine["n_parallel"] == 4
        assert host.metadata.offload_reason.startswith(f"all {TOTAL_LAYERS} layers fit in {free}")
    finally:
        service.close()


def test_doctor_names_the_device_and_autos_whole_choice(vulkan_device):
    done = workbench("doctor", "--json")
    checks = {(c["section"], c["name"]): c for c in json.loads(done.stdout)}
    device = checks["GPUs", vulkan_device.name]
    assert device["status"] == "ok"
    assert device["detail"] == (f"{vulkan_device.description}: {vulkan_device.free // MiB:,} MiB "
                                f"free of {vulkan_device.total // MiB:,} MiB (llama.cpp's vulkan "
                                "back-end)")
    auto = checks["Offload", "auto"]["detail"]
    assert auto.startswith(f"{TOTAL_LAYERS} GPU layers and 8 parallel sequences for ")
    assert f"free VRAM on {vulkan_device.label()} with 8 parallel sequences" in auto
    assert checks["llama.cpp", "llama.cpp"]["detail"].endswith("GPU offload supported")


def test_info_names_the_parallel_sequences_auto_loads_with(bundled_model, vulkan_device):
    done = workbench("info", str(bundled_model), "--n-ctx", str(TIGHT_CTX))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    engine = next(line for line in lines if line.startswith("engine "))
    offload = next(line for line in lines if line.startswith("GPU offload "))
    assert engine.split(None, 1)[1].startswith("4 parallel")  # auto's choice here, not 8
    assert f"auto at n_ctx 8,192: all {TOTAL_LAYERS} layers fit in" in offload
    assert f"on {vulkan_device.label()} with 4 parallel sequences" in offload
