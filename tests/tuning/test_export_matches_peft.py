"""The exported GGUF LoRA makes llama.cpp compute what peft computes in transformers.

llama.cpp runs (through the model host) the bundled model dequantized to F32, so both sides use
the same weights; the adapter is random (all seven linear layers of every block) and strong
enough to change what the model says. Greedy continuations must agree token for token, and the
log-probabilities of the chosen tokens to a few hundredths. An export without llama.cpp's q/k
row permutation must not agree: that keeps the test honest about what it checks.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from workbench.core.generation import GenerationRequest, TokenEvent
from workbench.core.messages import conversation
from workbench.core.model_info import AdapterSpec, LoadSettings
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost
from workbench.tuning import gguf_lora
from workbench.tuning.architectures import ALL_LINEAR

PROMPTS = ["What is the capital of France?", "Write a short poem about the sea.",
           "Explain photosynthesis in one sentence.", "List three colors.",
           "Give me a tip for learning to cook."]
N_TOKENS = 16


@pytest.fixture(scope="module")
def random_adapter(hf_bundled, tmp_path_factory):
    import torch

    from workbench.tuning.trainer.hf_model import add_lora, base_shape

    peft_model = add_lora(copy.deepcopy(hf_bundled), rank=8, alpha=16, dropout=0.0,
                          targets=ALL_LINEAR)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:  # peft starts B at zero: no effect; make it matter
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    folder = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(folder / "peft")
    base_shape(peft_model.get_base_model()).save(folder / "peft")
    peft_model.eval()
    return peft_model, folder


def hf_greedy(model, ids: list[int]) -> tuple[list[int], list[float]]:
    import torch

    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=N_TOKENS, do_sample=False,
                             output_scores=True, return_dict_in_generate=True,
                             pad_token_id=model.config.eos_token_id)
    tokens = out.sequences[0, len(ids):].tolist()
    logprobs = [float(torch.log_softmax(s[0], -1)[t]) for s, t in zip(out.scores, tokens)]
    if tokens and tokens[-1] == model.config.eos_token_id:  # llama.cpp does not return EOS
        tokens, logprobs = tokens[:-1], logprobs[:-1]
    return tokens, logprobs


def llama_greedy(host: ModelHost, text: str, adapters) -> tuple[list[int], list[float]]:
    request = GenerationRequest(prompt=text, adapters=adapters,
                                sampling=GREEDY.with_(max_tokens=N_TOKENS, logprobs=1))
    events = [e for e in host.generate(request) if isinstance(e, TokenEvent)]
    return [e.token_id for e in events], [e.logprob for e in events]


def test_llama_cpp_with_exported_adapter_matches_peft(random_adapter, f32_bundled, tmp_path):
    peft_model, folder = random_adapter
    exported = gguf_lora.export_lora_gguf(folder / "peft", folder / "lora.gguf")
    host = ModelHost(LoadSettings(str(f32_bundled), n_ctx=512), logs_dir=tmp_path / "logs")
    host.start()
    try:
        changed = 0
        for question in PROMPTS:
            text = host.render(conversation(question))
            ids = host.tokenize(text)
            hf_tokens, hf_logprobs = hf_greedy(peft_model, ids)
            tokens, logprobs = llama_greedy(host, text, (AdapterSpec(str(exported)),))
            assert len(tokens) >= N_TOKENS or tokens == hf_tokens
            assert tokens == hf_tokens, (question, host.detokenize(tokens),
                                         host.detokenize(hf_tokens))
            assert np.allclose(logprobs, hf_logprobs, atol=0.05), question
            base_tokens, _ = llama_greedy(host, text, ())
            changed += base_tokens != tokens
        assert changed >= 3  # the adapter really changes the model's answers
    finally:
        host.close()


def test_without_the_qk_permutation_llama_cpp_disagrees(random_adapter, f32_bundled, tmp_path,
                                                        monkeypatch):
    peft_model, folder = random_adapter
    monkeypatch.setattr(gguf_lora, "permute_rows", lambda weights, n_head: weights)
    unpermuted = gguf_lora.export_lora_gguf(folder / "peft", tmp_path / "unpermuted.gguf")
    host = ModelHost(LoadSettings(str(f32_bundled), n_ctx=512), logs_dir=tmp_path / "logs")
    host.start()
    try:
        worst = 0.0
        for question in PROMPTS[:3]:
            text = host.render(conversation(question))
            hf_tokens, hf_logprobs = hf_greedy(peft_model, host.tokenize(text))
            tokens, logprobs = llama_greedy(host, text, (AdapterSpec(str(unpermuted)),))
            n = min(len(tokens), len(hf_tokens))
            if tokens[:n] != hf_tokens[:n]:
                worst = math.inf
                break
            worst = max(worst, float(np.max(np.abs(np.subtract(logprobs[:n],
                                                               hf_logprobs[:n])))))
        assert worst > 0.05
    finally:
        host.close()


def test_permutation_is_the_one_llama_cpp_applied_to_the_base_weights(hf_bundled,
                                                                      bundled_model):
    """transformers undid llama.cpp's q/k row order when it loaded the GGUF; permute_rows
    must redo it exactly (checked on layer 0's real weights)."""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(str(bundled_model), "r")
    stored = {t.name: dequantize(t.data, t.tensor_type) for t in reader.tensors
              if t.name in ("blk.0.attn_q.weight", "blk.0.attn_k.weight")}
    attention = hf_bundled.model.layers[0].self_attn
    config = hf_bundled.config
    q = attention.q_proj.weight.detach().numpy()
    k = attention.k_proj.weight.detach().numpy()
    assert np.array_equal(gguf_lora.permute_rows(q, config.num_attention_heads),
                          stored["blk.0.attn_q.weight"])
    assert np.array_equal(gguf_lora.permute_rows(k, config.num_key_value_heads),
                          stored["blk.0.attn_k.weight"])
    assert not np.array_equal(q, stored["blk.0.attn_q.weight"])
