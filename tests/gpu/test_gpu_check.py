"""The GPU check's parts that need no GPU: reading llama-batched-bench's table, the card's
bandwidth by name, and run.sh refusing a machine without nvidia-smi in one clear line.
(The whole check on the CPU: ``tests/gpu/run.sh --dry-run``.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.gpu.gpu_check import RECORDED_TABLE, card_bandwidth, parse_batched_bench

RUN = Path(__file__).with_name("run.sh")


def test_llama_batched_bench_table_is_read_by_its_header():
    assert parse_batched_bench(RECORDED_TABLE.read_text()) == {
        1: 41.57, 4: 74.44, 8: 139.43, 16: 242.23}
    assert parse_batched_bench("main: n_kv_max = 4096\nno table here\n") == {}


def test_bandwidth_follows_the_most_specific_card_name():
    assert card_bandwidth("NVIDIA H100 80GB HBM3") == 3350
    assert card_bandwidth("NVIDIA H100 PCIe") == 2000
    assert card_bandwidth("NVIDIA H200") == 4800
    assert card_bandwidth("NVIDIA GeForce RTX 4090") == 1008
    assert card_bandwidth("Some Future GPU") is None


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_without_nvidia_smi_the_script_stops_at_once_and_says_why():
    done = subprocess.run(["bash", str(RUN)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("tests/gpu/run.sh: nvidia-smi not found: this check needs "
                                   "an NVIDIA GPU and its driver (try --dry-run)")


def test_a_missing_larger_model_is_named():
    done = subprocess.run(["bash", str(RUN), "--larger", "/no/such.gguf"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--larger /no/such.gguf: no such file" in done.stderr
