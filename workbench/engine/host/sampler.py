"""One sequence's token sampler: a llama.cpp sampler chain with its own RNG and history.

Each request in a batch gets its own chain, so its seed, penalties and grammar never depend on
which other requests happen to be decoded beside it. The chain's order is llama.cpp's default
(penalties → top-k → top-p → min-p → temperature → dist); temperature ≤ 0 is greedy.
"""

from __future__ import annotations

from collections.abc import Sequence

import llama_cpp

from ...core.errors import HostRequestError
from ...core.sampling import SamplingSettings


class TokenSampler:
    def __init__(self, vocab, n_vocab: int, sampling: SamplingSettings, seed: int,
                 end_tokens: Sequence[int] = ()):
        params = llama_cpp.llama_sampler_chain_default_params()
        params.no_perf = True
        self._chain = llama_cpp.llama_sampler_chain_init(params)
        self._penalties = None
        try:
            self._build(vocab, n_vocab, sampling, seed, end_tokens)
        except Exception:
            self.close()
            raise

    def _add(self, sampler):
        llama_cpp.llama_sampler_chain_add(self._chain, sampler)  # the chain owns it from here
        return sampler

    def _build(self, vocab, n_vocab: int, s: SamplingSettings, seed: int,
               end_tokens: Sequence[int]) -> None:
        if s.ignore_eos and end_tokens:  # as llama.cpp's --ignore-eos: end tokens never win
            biases = (llama_cpp.llama_logit_bias * len(end_tokens))(
                *(llama_cpp.llama_logit_bias(token, float("-inf")) for token in end_tokens))
            self._add(llama_cpp.llama_sampler_init_logit_bias(n_vocab, len(end_tokens), biases))
        if s.grammar:
            grammar = llama_cpp.llama_sampler_init_grammar(vocab, s.grammar.encode(), b"root")
            if not grammar:
                raise HostRequestError("The grammar could not be parsed by llama.cpp (GBNF; "
                                       "its first rule must be 'root').")
            self._add(grammar)
        penalised = (s.repeat_penalty != 1.0 or s.frequency_penalty != 0.0
                     or s.presence_penalty != 0.0)
        if penalised and s.repeat_last_n != 0:
            self._penalties = self._add(llama_cpp.llama_sampler_init_penalties(
                n_vocab, s.repeat_last_n, s.repeat_penalty, s.frequency_penalty,
                s.presence_penalty))
        if s.greedy:
            self._add(llama_cpp.llama_sampler_init_greedy())
            return
        if s.top_k > 0:
            self._add(llama_cpp.llama_sampler_init_top_k(s.top_k))
        if s.top_p < 1.0:
            self._add(llama_cpp.llama_sampler_init_top_p(s.top_p, 1))
        if s.min_p > 0.0:
            self._add(llama_cpp.llama_sampler_init_min_p(s.min_p, 1))
        self._add(llama_cpp.llama_sampler_init_temp(s.temperature))
        self._add(llama_cpp.llama_sampler_init_dist(seed & 0xFFFFFFFF))

    def remember_prompt(self, tokens: list[int], last_n: int) -> None:
        """Penalties count the prompt's last tokens too, as llama-server does (the grammar
        must not see them: it constrains the answer only)."""
        if self._penalties is None:
            return
        window = tokens[-last_n:] if last_n > 0 else tokens
        for token in window:
            llama_cpp.llama_sampler_accept(self._penalties, token)

    def sample(self, ctx, index: int) -> int:
        """Pick the next token from the logits at batch position ``index`` and record it."""
        return int(llama_cpp.llama_sampler_sample(self._chain, ctx, index))

    def accept(self, token: int) -> None:
        """Record a token chosen elsewhere (a branch's forced token) as if sampled: the
        penalties count it; the RNG is not advanced."""
        llama_cpp.llama_sampler_accept(self._chain, token)

    def close(self) -> None:
        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None
