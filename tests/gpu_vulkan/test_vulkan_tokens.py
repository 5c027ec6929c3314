"""The model host with all, some and none of the bundled model's layers on the Vulkan device
gives the CPU build's greedy tokens (the same llama-cpp-python version, its CPU libraries
loaded through LLAMA_CPP_LIB_PATH by a host of its own in this run).

Two builds are two sets of kernels (Vulkan shaders dequantize to f16 and sum in another
order), so their log-probabilities differ in the last digits. The check: every greedy token is
the CPU's, each token's log-probability within LOGPROB_TOLERANCE of the CPU's; a different
token is allowed only where the CPU's own top two were a near tie (within TIE_TOLERANCE), where
any reordering of a sum may pick the other, and the comparison ends there.
"""

from __future__ import annotations

import pytest

from workbench.core.generation import GenerationRequest, TokenEvent
from workbench.core.messages import conversation
from workbench.core.model_info import LoadSettings
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost

PROMPTS = ("What is the capital of France?", "Write a haiku about autumn leaves.",
           "List three prime numbers and explain why they are prime.")
GREEDY_32 = GREEDY.with_(max_tokens=32, logprobs=2, seed=0)
# Measured on lavapipe (llama-cpp-python 0.3.36): log-probabilities of the same token differed
# by up to 0.054 nats with none or 12 layers on the device (the Vulkan build also runs a long
# prompt's large matrix products there) and up to 0.152 nats with every layer on it (f16
# arithmetic throughout); the first answer token of one prompt was a near tie on the CPU (its
# top two 0.089 nats apart), where Vulkan took the other. The tolerances are about twice that.
LOGPROB_TOLERANCE = 0.3  # nats
TIE_TOLERANCE = 0.25
N_LAYERS = 30  # SmolLM2-135M's blocks; +1 for the output head


def greedy_tokens(host: ModelHost) -> list[list[TokenEvent]]:
    runs = []
    for prompt in PROMPTS:
        stream = host.generate(GenerationRequest(messages=tuple(conversation(prompt)),
                                                 sampling=GREEDY_32))
        runs.append([event for event in stream
                     if isinstance(event, TokenEvent) and event.token_id >= 0])
    return runs


@pytest.fixture(scope="module")
def cpu_tokens(bundled_model, cpu_library, tmp_path_factory):
    """The CPU build's tokens: a host whose llama_cpp loads the CPU libraries."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LLAMA_CPP_LIB_PATH", str(cpu_library))
        host = ModelHost(LoadSettings(str(bundled_model), n_ctx=1024, n_gpu_layers=0,
                                      n_parallel=1, flash_attn="off"),
                         logs_dir=tmp_path_factory.mktemp("cpu-logs"))
        host.start()
    try:
        assert host.metadata.offload_supported is False  # really the CPU build
        yield greedy_tokens(host)
    finally:
        host.close()


def compare(vulkan: list[TokenEvent], cpu: list[TokenEvent]) -> int:
    """How many tokens agree; fails on a difference beyond the tolerances."""
    for index, (ours, theirs) in enumerate(zip(vulkan, cpu)):
        if ours.token_id != theirs.token_id:
            top = theirs.alternatives
            gap = top[0].logprob - top[1].logprob
            assert gap <= TIE_TOLERANCE, (
                f"token {index}: Vulkan chose {ours.text!r}, the CPU {theirs.text!r} with a "
                f"margin of {gap:.3f} nats over its second choice")
            return index
        assert ours.logprob == pytest.approx(theirs.logprob, abs=LOGPROB_TOLERANCE), (
            f"token {index} ({ours.text!r}): log-probability {ours.logprob:.4f} on Vulkan, "
            f"{theirs.logprob:.4f} on the CPU")
    assert len(vulkan) == len(cpu)
    return len(vulkan)


@pytest.mark.parametrize(("requested", "offloaded"), [(-1, N_LAYERS + 1), (12, 12), (0, 0)],
                         ids=["all layers", "12 layers", "no layers"])
def test_the_vulkan_host_gives_the_cpu_builds_greedy_tokens(
        bundled_model, tmp_path, cpu_tokens, vulkan_device, requested, offloaded):
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=1024, n_gpu_layers=requested,
                                  n_parallel=1, flash_attn="off"), logs_dir=tmp_path / "logs")
    host.start()
    try:
        meta = host.metadata
        assert meta.offload_supported is True
        assert meta.gpu_layers_offloaded == offloaded
        log = host.log_path.read_text(encoding="utf-8", errors="replace")
        assert f"using device {vulkan_device.name} (" in log  # the device was used, not skipped
        if offloaded:
            assert f"offloaded {offloaded}/{N_LAYERS + 1} layers to GPU" in log
        vulkan_tokens = greedy_tokens(host)
    finally:
        host.close()
    agreed = [compare(ours, theirs) for ours, theirs in zip(vulkan_tokens, cpu_tokens)]
    assert sum(agreed) >= len(PROMPTS) * 16, agreed  # not a run of early near-ties
