"""llama.cpp inside the host process: load, describe, tokenize, render, generate.

This module is only imported in the child process; the GUI process never loads llama.cpp.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import llama_cpp
from llama_cpp import Llama

from ...core.chat_template import render_chat
from ...core.errors import HostRequestError, ModelFileError
from ...core.generation import GenerationRequest, GenerationStats, TokenEvent
from ...core.messages import ChatMessage
from ...core.model_info import AdapterSpec, LoadSettings, ModelMetadata, SpecialTokens
from ...library.quantization import quantization_name

Emit = Callable[[TokenEvent], None]

# Prompts are evaluated in chunks aligned to this many tokens; see _evaluate_prompt.
# 64 costs nothing measurable against llama.cpp's default batch of 512 on CPU.
PROMPT_CHUNK = 64


def default_threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


class LlamaRuntime:
    """One loaded model and its context. Not thread-safe: the host calls it from one thread."""

    def __init__(self, settings: LoadSettings, log_path: Path | None):
        self.settings = settings
        self.log_path = log_path
        self._adapters: dict[str, object] = {}  # path -> llama.cpp adapter, loaded once
        self._adapter_key: tuple = ()
        self._default_adapters: tuple[AdapterSpec, ...] = ()
        self._canonical_end = 0  # KV positions below this were computed in aligned chunks
        offload = bool(llama_cpp.llama_supports_gpu_offload())
        gpu_layers = settings.n_gpu_layers
        if gpu_layers is None:
            gpu_layers = -1 if offload else 0
        self._gpu_layers_requested = gpu_layers if offload else 0
        threads = settings.n_threads or default_threads()
        log_mark = self._log_size()
        try:
            self.llm = Llama(
                model_path=settings.path,
                n_ctx=settings.n_ctx,
                n_gpu_layers=self._gpu_layers_requested,
                n_threads=threads,
                n_threads_batch=threads,
                seed=settings.seed,
                verbose=True,  # llama.cpp's log goes to our log file; errors are read from it
            )
        except Exception as error:
            raise ModelFileError(settings.path, self._load_failure_reason(log_mark, error)) from None
        self._offload = offload
        self._apply_adapters(settings)
        self._eog = lambda token: bool(llama_cpp.llama_vocab_is_eog(self.llm._model.vocab, token))
        self.metadata = self._describe(log_mark)

    # -- loading -------------------------------------------------------------------------

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size if self.log_path else 0
        except OSError:
            return 0

    def _log_since(self, mark: int) -> str:
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(mark)
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _load_failure_reason(self, mark: int, error: Exception) -> str:
        """llama.cpp says why in its log; Python only sees 'Failed to load model'."""
        import sys

        sys.stderr.flush()
        log = self._log_since(mark)
        patterns = (
            r"unknown model architecture: '([^']+)'",
            r"error loading model: (.+)",
            r"gguf_init_from_file[^:]*: (.+)",
        )
        for pattern in patterns:
            match = re.search(pattern, log)
            if match:
                if pattern.startswith("unknown"):
                    return f"llama.cpp does not know the model architecture '{match.group(1)}'"
                return f"llama.cpp could not load it: {match.group(1).strip()}"
        return f"llama.cpp could not load it ({error})"

    def _apply_adapters(self, settings: LoadSettings) -> None:
        self._default_adapters = tuple(settings.adapters)
        self._use_adapters(self._default_adapters)

    def _adapter_handle(self, path: str):
        handle = self._adapters.get(path)
        if handle is None:
            handle = llama_cpp.llama_adapter_lora_init(self.llm._model.model, path.encode())
            if not handle:
                raise ModelFileError(path, "llama.cpp could not load it as a LoRA adapter")
            self._adapters[path] = handle
        return handle

    def _use_adapters(self, adapters: tuple[AdapterSpec, ...]) -> None:
        """Set the context's adapters. A change empties the KV cache: keys and values
        computed under one adapter state must never serve a request under another."""
        key = tuple((a.path, a.scale) for a in adapters if a.scale != 0.0)
        if key == self._adapter_key:
            return
        count = len(key)
        handles = (llama_cpp.llama_adapter_lora_p_ctypes * max(count, 1))(
            *(self._adapter_handle(path) for path, _ in key))
        scales = (ctypes.c_float * max(count, 1))(*(scale for _, scale in key))
        if llama_cpp.llama_set_adapters_lora(self.llm._ctx.ctx, handles if count else None,
                                             count, scales if count else None):
            raise HostRequestError("llama.cpp refused to apply the LoRA adapters to this model.")
        self._adapter_key = key
        self.llm.reset()
        self.llm._ctx.kv_cache_clear()
        self._canonical_end = 0

    def _describe(self, log_mark: int) -> ModelMetadata:
        llm, model = self.llm, self.llm._model
        meta = dict(llm.metadata)
        n_layers = int(llama_cpp.llama_model_n_layer(model.model))
        offloaded = 0
        if self._offload:
            match = re.search(r"offloaded (\d+)/(\d+) layers to GPU", self._log_since(log_mark))
            offloaded = int(match.group(1)) if match else 0
        bos, eos = model.token_bos(), model.token_eos()
        return ModelMetadata(
            path=str(Path(self.settings.path).resolve()),
            name=meta.get("general.name") or Path(self.settings.path).stem,
            architecture=meta.get("general.architecture", "unknown"),
            parameter_count=int(model.n_params()),
            quantization=quantization_name(meta.get("general.file_type")),
            file_size=Path(self.settings.path).stat().st_size,
            context_length=int(model.n_ctx_train()),
            n_ctx=int(llm.n_ctx()),
            n_layers=n_layers,
            vocab_size=int(llm.n_vocab()),
            chat_template=meta.get("tokenizer.chat_template"),
            special_tokens=SpecialTokens(
                bos_id=bos if bos >= 0 else None,
                eos_id=eos if eos >= 0 else None,
                bos_text=self._piece(bos) if bos >= 0 else "",
                eos_text=self._piece(eos) if eos >= 0 else "",
            ),
            offload_supported=self._offload,
            gpu_layers_requested=self._gpu_layers_requested,
            gpu_layers_offloaded=offloaded,
            extra={k: v for k, v in meta.items() if k.startswith("general.")},
        )

    def _piece_bytes(self, token: int, special: bool) -> bytes:
        """The bytes of one token (llama-cpp-python's helper returns a padded 32-byte buffer)."""
        size = 64
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self.llm._model.vocab, token, buffer, size, 0, special)
            if n >= 0:
                return buffer.raw[:n]
            size = -n

    def _piece(self, token: int) -> str:
        return self._piece_bytes(token, special=True).decode("utf-8", "replace")

    # -- text ----------------------------------------------------------------------------

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = True) -> list[int]:
        return self.llm.tokenize(text.encode(), add_bos=add_special, special=parse_special)

    def detokenize(self, tokens: list[int]) -> str:
        return b"".join(self._piece_bytes(t, special=True) for t in tokens).decode("utf-8", "replace")

    def token_pieces(self, tokens: list[int]) -> list[str]:
        return [self._piece(t) for t in tokens]

    def render(self, messages: list[ChatMessage], add_generation_prompt: bool = True) -> str:
        special = self.metadata.special_tokens
        return render_chat(
            self.metadata.chat_template,
            messages,
            bos_token=special.bos_text,
            eos_token=special.eos_text,
            add_generation_prompt=add_generation_prompt,
        )

    def prompt_tokens(self, request: GenerationRequest) -> list[int]:
        if request.messages:
            text = self.render(list(request.messages))
            bos = self.metadata.special_tokens.bos_text
            # The tokenizer adds BOS itself when the model asks for it; a template that writes
            # it too would double it.
            if bos and text.startswith(bos) and self.llm._model.add_bos_token():
                text = text[len(bos) :]
            return self.tokenize(text, add_special=True, parse_special=True)
        # Raw prompts may spell out template tokens (<|im_start|>): parse them, as llama-server does.
        return self.tokenize(request.prompt or "", add_special=True, parse_special=True)

    # -- generation ----------------------------------------------------------------------

    def generate(
        self, request: GenerationRequest, emit: Emit, cancelled: Callable[[], bool]
    ) -> tuple[str, GenerationStats, int]:
        """Stream tokens to ``emit``; return the final text, stats and the seed used."""
        from ...core.stop_strings import StopStringFilter

        sampling = request.sampling
        start = time.perf_counter()
        prompt = self.prompt_tokens(request)
        n_ctx = self.llm.n_ctx()
        if len(prompt) >= n_ctx:
            raise HostRequestError(
                f"The prompt is {len(prompt)} tokens long; the context window holds {n_ctx}."
            )
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        self.llm.set_seed(seed)
        self._use_adapters(self._default_adapters if request.adapters is None
                           else tuple(request.adapters))
        cached = self._evaluate_prompt(prompt, cancelled)
        max_tokens = min(sampling.max_tokens, n_ctx - len(prompt))
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        stops = StopStringFilter(sampling.stop)
        first_at = last_at = None
        count, finish = 0, "length"
        greedy = sampling.temperature <= 0
        sampler = self.llm._init_sampler(
            top_k=1 if greedy else sampling.top_k,
            top_p=sampling.top_p,
            min_p=sampling.min_p,
            temp=0.0 if greedy else sampling.temperature,
            repeat_penalty=sampling.repeat_penalty,
        )
        try:
            while count < max_tokens:
                if cancelled():
                    finish = "cancelled"
                    break
                token = sampler.sample(self.llm._ctx, -1)
                last_at = time.perf_counter()
                if first_at is None:
                    first_at = last_at
                if self._eog(token):
                    finish = "stop"
                    break
                count += 1
                piece = decoder.decode(self._piece_bytes(token, special=False))
                shown = stops.feed(piece)
                logprob, top = (self._logprobs(token, sampling.logprobs)
                                if sampling.logprobs else (None, None))
                emit(TokenEvent(text=shown, token_id=int(token), logprob=logprob, top_logprobs=top))
                if stops.stopped:
                    finish = "stop"
                    break
                if count < max_tokens:
                    self.llm.eval([token])
        finally:
            sampler.close()
        tail = stops.flush() if not stops.stopped else ""
        if tail:
            emit(TokenEvent(text=tail, token_id=-1))
        end = time.perf_counter()
        gen_time = (last_at - first_at) if (first_at and last_at and count > 1) else 0.0
        stats = GenerationStats(
            prompt_tokens=len(prompt),
            completion_tokens=count,
            cached_prompt_tokens=cached,
            time_to_first_token_s=(first_at - start) if first_at else end - start,
            tokens_per_second=((count - 1) / gen_time) if gen_time > 0 else 0.0,
            total_s=end - start,
            finish_reason=finish,
        )
        return stops.text, stats, seed

    def _evaluate_prompt(self, prompt: list[int], cancelled: Callable[[], bool]) -> int:
        """Bring the KV cache to ``prompt``, reusing what it holds; return tokens reused.

        llama.cpp's results for a position depend slightly on how the prompt was cut into
        batches (different kernels for different batch sizes). So that a fixed seed gives the
        same tokens whatever the cache held before, every prompt is cut the same way: chunks
        aligned to multiples of PROMPT_CHUNK. A cached prefix is reused only in whole aligned
        chunks, which a fresh run would have computed exactly the same way.
        """
        llm = self.llm
        held = llm.input_ids[: llm.n_tokens]
        shared = 0
        for a, b in zip(held, prompt):
            if a != b:
                break
            shared += 1
        reuse = min(shared, self._canonical_end) // PROMPT_CHUNK * PROMPT_CHUNK
        if reuse >= len(prompt):  # the same prompt again: recompute its last chunk for logits
            reuse = (len(prompt) - 1) // PROMPT_CHUNK * PROMPT_CHUNK
        if reuse == 0 or not llm._ctx.kv_cache_seq_rm(-1, reuse, -1):
            reuse = 0
            llm.reset()
            llm._ctx.kv_cache_clear()
        llm.n_tokens = reuse
        position = reuse
        while position < len(prompt) and not cancelled():
            chunk_end = min(len(prompt), (position // PROMPT_CHUNK + 1) * PROMPT_CHUNK)
            llm.eval(prompt[position:chunk_end])
            position = chunk_end
        # Generated tokens are evaluated one by one: only whole prompt chunks are canonical.
        self._canonical_end = position // PROMPT_CHUNK * PROMPT_CHUNK
        return reuse

    def _logprobs(self, token: int, k: int) -> tuple[float, dict[str, float]]:
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.llm._ctx.ctx, -1), shape=(self.llm.n_vocab(),)
        ).astype(np.float64)
        shifted = logits - logits.max()
        logprobs = shifted - np.log(np.exp(shifted).sum())
        best = np.argpartition(-logprobs, k)[:k]
        best = best[np.argsort(-logprobs[best])]
        top = {self._piece(int(t)): float(logprobs[t]) for t in best}
        return float(logprobs[token]), top

    def close(self) -> None:
        for adapter in self._adapters.values():
            llama_cpp.llama_adapter_lora_free(adapter)
        self._adapters.clear()
        self.llm.close()
