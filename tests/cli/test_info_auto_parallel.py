"""`workbench info` on a GPU names the parallel sequences auto loads with (chosen with the GPU
layers for the free VRAM), not the GPU default of 8; on real models' shapes and recorded cards."""

from __future__ import annotations

import pytest

from tests.fixtures.model_shapes import REAL_SHAPES, write_shape
from workbench.cli.main import build_parser
from workbench.cli.model_cmds import auto_parallel
from workbench.library.system_memory import Memory
from workbench.services.models import ModelService

GiB, MiB = 1024 ** 3, 1024 ** 2


def card(gb: int) -> Memory:
    return Memory(32 * GiB, 64 * GiB, gb * GiB - 300 * MiB, gb * GiB, f"NVIDIA {gb} GB card")


@pytest.fixture(scope="module")
def llama_8b(tmp_path_factory):
    shape = next(s for s in REAL_SHAPES if s.name == "Llama-3.1-8B-Instruct")
    return write_shape(tmp_path_factory.mktemp("shapes"), shape)


@pytest.mark.parametrize(("gb", "parallel"), [(6, 1), (8, 4), (12, 8)])
def test_info_gives_autos_parallel_sequences_for_the_card(llama_8b, gb, parallel):
    service = ModelService(memory=lambda: card(gb), offload_supported=True)
    args = build_parser().parse_args(["info", str(llama_8b)])
    chosen, why = auto_parallel(service, args, offload_supported=True)
    assert chosen == parallel
    sequences = "1 parallel sequence" if parallel == 1 else f"{parallel} parallel sequences"
    assert why.startswith(f"all 33 layers fit in {gb - 0.3:.1f} GiB free VRAM with {sequences}")


def test_what_the_user_set_and_the_cpu_build_keep_their_figures(llama_8b):
    service = ModelService(memory=lambda: card(8), offload_supported=True)
    parser = build_parser()
    assert auto_parallel(service, parser.parse_args(["info", str(llama_8b), "-np", "2"]),
                         offload_supported=True) == (2, "")
    assert auto_parallel(service, parser.parse_args(["info", str(llama_8b)]),
                         offload_supported=False) == (4, "")
