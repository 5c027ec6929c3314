"""llama.cpp inside the host process: load, describe, tokenize, render, and batched generation.

This module is only imported in the child process; the GUI process never loads llama.cpp.
The model and its context are llama.cpp's own objects (through llama-cpp-python's thin
wrappers): the context is made with one KV stream per parallel sequence, which the
high-level ``Llama`` class cannot do.
"""

from __future__ import annotations

import ctypes
import os
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import llama_cpp
from llama_cpp import _internals

from ...core.chat_template import TemplateChoice, render_chat, resolve_template
from ...core.errors import HostRequestError, ModelFileError
from ...core.generation import GenerationRequest, ScoreRequest, TokenEvent
from ...core.messages import ChatMessage
from ...core.model_info import (
    AdapterSpec,
    LoadSettings,
    ModelMetadata,
    SpecialTokens,
    default_parallel,
)
from ...library.fit import KVTypes, estimate_fit
from ...library.gguf_metadata import read_gguf_info
from ...library.offload import vram_failure_message
from ...library.quantization import quantization_name
from ...library.system_memory import system_memory
from .batch import PROMPT_CHUNK, BatchDecoder
from .loading import LoadCancelled, LoadReporter
from .sampler import TokenSampler
from .scoring import ScoreSequence
from .sequence import Sequence
from .threads import choose_threads, default_threads, machine_load  # noqa: F401 - benches' name

Emit = Callable[[TokenEvent], None]

CACHE_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8,
               "iq4_nl": 20, "bf16": 30}
FLASH_ATTN = {"auto": llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO,
              "on": llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED,
              "off": llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED}


# ggml's levels (ggml.h): 1 debug, 2 info, 3 warn, 4 error, 5 continue the previous line.
# llama-cpp-python's own callback maps an older numbering and drops errors while printing
# the per-tensor debug lines, so the host installs its own.
_LOG_DEBUG, _LOG_CONT = 1, 5
_last_level = 0


@llama_cpp.llama_log_callback
def log_to_stderr(level: int, text: bytes, user_data) -> None:
    """llama.cpp's log, less its debug lines, into the host's log file (stderr): errors are
    read back from there to say why a load failed."""
    global _last_level
    if level != _LOG_CONT:
        _last_level = level
    if _last_level != _LOG_DEBUG:
        sys.stderr.write(text.decode("utf-8", "replace"))


class LlamaRuntime:
    """One loaded model and its context. Not thread-safe: the host calls it from one thread."""

    def __init__(self, settings: LoadSettings, log_path: Path | None,
                 on_progress: LoadReporter | None = None):
        self.settings = settings
        self.log_path = log_path
        self._on_progress = on_progress  # told how far the weights are read; False stops it
        self._adapters: dict[str, object] = {}  # path -> llama.cpp adapter, loaded once
        self._default_adapters = tuple(settings.adapters)
        self._end_token_list: list[int] | None = None
        self._pieces: dict[int, bytes] = {}
        llama_cpp.llama_backend_init()
        llama_cpp.llama_log_set(log_to_stderr, ctypes.c_void_p(0))
        self._offload = bool(llama_cpp.llama_supports_gpu_offload())
        gpu_layers = settings.n_gpu_layers
        if gpu_layers is None:
            gpu_layers = -1 if self._offload else 0
        self._gpu_layers_requested = gpu_layers if self._offload else 0
        self.n_parallel = settings.n_parallel or default_parallel(self._offload)
        threads = choose_threads(os.cpu_count(), machine_load(), settings.n_threads)
        self.threads, self.threads_reason = threads.n_threads, threads.reason
        log_mark = self._log_size()
        self.model = self._load_model(log_mark)
        self.vocab = self.model.vocab
        self.n_vocab = int(self.model.n_vocab())
        self.context = self._make_context(log_mark)
        self.decoder = BatchDecoder(
            self.context.ctx, self.n_vocab, self.n_parallel,
            chunk=min(PROMPT_CHUNK, settings.n_ubatch), is_end=self._is_end,
            piece=lambda token: self._piece_bytes(token, special=False),
            set_adapters=self._use_adapters)
        self.metadata = self._describe(log_mark)

    # -- loading -------------------------------------------------------------------------

    def _load_model(self, log_mark: int):
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = self._gpu_layers_requested
        if self._on_progress is not None:
            # Kept on self: llama.cpp calls it from inside the load, ctypes must not free it.
            self._progress_callback = llama_cpp.llama_progress_callback(self._report_progress)
            params.progress_callback = self._progress_callback
        try:
            return _internals.LlamaModel(path_model=self.settings.path, params=params,
                                         verbose=True)
        except Exception as error:
            if self._on_progress is not None and self._on_progress.stopped:
                raise LoadCancelled(self.settings.path) from None
            raise ModelFileError(self.settings.path,
                                 self._load_failure_reason(log_mark, error)) from None

    def _report_progress(self, fraction: float, _user_data) -> bool:
        try:
            return bool(self._on_progress(fraction))
        except Exception:  # noqa: BLE001 - a broken pipe must not abort the load from here
            return True

    def _make_context(self, log_mark: int):
        s = self.settings
        if self.n_parallel > s.n_batch:
            raise ModelFileError(s.path, f"the batch size ({s.n_batch}) must be at least the "
                                         f"number of parallel sequences ({self.n_parallel})")
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = s.n_ctx * self.n_parallel  # each sequence gets the whole window
        params.n_seq_max = self.n_parallel
        params.kv_unified = False  # one stream per sequence; see batch.py for why
        params.n_batch = s.n_batch
        params.n_ubatch = s.n_ubatch
        params.n_threads = params.n_threads_batch = self.threads
        params.flash_attn_type = FLASH_ATTN[s.flash_attn]
        params.type_k = CACHE_TYPES[s.cache_type_k]
        params.type_v = CACHE_TYPES[s.cache_type_v]
        params.no_perf = True
        self.embedding_info: dict = {}
        self._embedder = None
        if s.embedding:
            from .embedding import configure

            self.embedding_info = configure(params, self.model, s.path)
        try:
            return _internals.LlamaContext(model=self.model, params=params, verbose=True)
        except Exception:
            log = self._log_since(log_mark)
            # The weights already hold their VRAM here, so nvidia-smi's free figure would
            # undercount what a reload has: suggest half the layers instead of the estimate.
            vram = self._vram_reason(log, int(llama_cpp.llama_model_n_layer(self.model.model)),
                                     estimate=False)
            if vram:
                raise ModelFileError(s.path, vram) from None
            match = re.search(r"llama_init_from_model: (.+)", log)
            reason = match.group(1).strip() if match else "llama.cpp could not create a context"
            raise ModelFileError(s.path, f"{reason} (flash attention {s.flash_attn}, K cache "
                                         f"{s.cache_type_k}, V cache {s.cache_type_v}, "
                                         f"n_ctx {s.n_ctx} × {self.n_parallel})") from None

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size if self.log_path else 0
        except OSError:
            return 0

    def _log_since(self, mark: int) -> str:
        sys.stderr.flush()
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
        log = self._log_since(mark)
        vram = self._vram_reason(log)
        if vram:
            return vram
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

    def _vram_reason(self, log: str, n_layers: int | None = None,
                     estimate: bool = True) -> str | None:
        """Out of GPU memory: one line with a layer count the fit estimate says would fit
        (half the layers tried when it cannot tell)."""
        if not self._offload or self._gpu_layers_requested == 0:
            return None
        total, fit = (n_layers + 1 if n_layers else 0), None
        try:
            info = read_gguf_info(self.settings.path)
            total = info.n_layers + 1
            if estimate:
                kv = KVTypes(self.settings.cache_type_k, self.settings.cache_type_v)
                fit = estimate_fit(info, self.settings.n_ctx, system_memory(),
                                   offload_supported=True, n_parallel=self.n_parallel,
                                   kv=kv).recommended_gpu_layers
        except Exception:  # noqa: BLE001 - a suggestion only; the message stands without it
            pass
        return vram_failure_message(log, self._gpu_layers_requested, total, fit)

    # -- adapters ------------------------------------------------------------------------

    def _adapter_handle(self, path: str):
        handle = self._adapters.get(path)
        if handle is None:
            handle = llama_cpp.llama_adapter_lora_init(self.model.model, path.encode())
            if not handle:
                raise ModelFileError(path, "llama.cpp could not load it as a LoRA adapter")
            self._adapters[path] = handle
        return handle

    def adapter_key(self, adapters: tuple[AdapterSpec, ...] | None) -> tuple:
        chosen = self._default_adapters if adapters is None else tuple(adapters)
        key = tuple((a.path, a.scale) for a in chosen if a.scale != 0.0)
        for path, _ in key:
            self._adapter_handle(path)  # a file llama.cpp refuses fails this request only
        return key

    def _use_adapters(self, key: tuple) -> None:
        """Set the context's adapters (the batch decoder empties the KV cache after)."""
        count = len(key)
        handles = (llama_cpp.llama_adapter_lora_p_ctypes * max(count, 1))(
            *(self._adapter_handle(path) for path, _ in key))
        scales = (ctypes.c_float * max(count, 1))(*(scale for _, scale in key))
        if llama_cpp.llama_set_adapters_lora(self.context.ctx, handles if count else None,
                                             count, scales if count else None):
            raise HostRequestError("llama.cpp refused to apply the LoRA adapters to this model.")

    # -- description ---------------------------------------------------------------------

    def _describe(self, log_mark: int) -> ModelMetadata:
        model = self.model
        meta = model.metadata()
        log = self._log_since(log_mark)
        offloaded = 0
        if self._offload:
            match = re.search(r"offloaded (\d+)/(\d+) layers to GPU", log)
            offloaded = int(match.group(1)) if match else 0
        bos, eos = model.token_bos(), model.token_eos()
        architecture = meta.get("general.architecture", "unknown")
        file_template = meta.get("tokenizer.chat_template")
        template, source = resolve_template(file_template, architecture, self._template_choice())
        return ModelMetadata(
            path=str(Path(self.settings.path).resolve()),
            name=meta.get("general.name") or Path(self.settings.path).stem,
            architecture=architecture,
            parameter_count=int(model.n_params()),
            quantization=quantization_name(meta.get("general.file_type")),
            file_size=Path(self.settings.path).stat().st_size,
            context_length=int(model.n_ctx_train()),
            n_ctx=int(llama_cpp.llama_n_ctx_seq(self.context.ctx)),
            n_layers=int(llama_cpp.llama_model_n_layer(model.model)),
            vocab_size=self.n_vocab,
            chat_template=template,  # the one renders use, recorded with every output
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
            engine=self._engine(log),
            chat_template_source=source,
            file_has_chat_template=bool(file_template),
        )

    def _template_choice(self) -> TemplateChoice | None:
        s = self.settings
        if s.template_jinja is not None:
            return TemplateChoice(jinja=s.template_jinja)
        if s.template_name is not None:
            return TemplateChoice(name=s.template_name)
        return None

    def _engine(self, log: str) -> dict:
        """The settings as llama.cpp resolved them (``auto`` flash attention says which)."""
        s = self.settings
        flash = s.flash_attn
        match = re.search(r"Flash Attention (?:was auto, set to )?(enabled|disabled)", log)
        if flash == "auto" and match:
            flash = "auto→on" if match.group(1) == "enabled" else "auto→off"
        return {"n_parallel": self.n_parallel, "flash_attn": flash,
                "cache_type_k": s.cache_type_k, "cache_type_v": s.cache_type_v,
                "n_batch": s.n_batch, "n_ubatch": s.n_ubatch, "n_threads": self.threads,
                "threads_reason": self.threads_reason, "prompt_chunk": self.decoder.chunk, "kv_unified": bool(self.embedding_info),
                **self.embedding_info}

    def token_bytes(self, token: int) -> bytes:
        """A token's exact bytes as the inspector shows them: special tokens spelled out
        (``<|im_end|>``), kept once looked up (a logprobs step names k alternatives)."""
        piece = self._pieces.get(token)
        if piece is None:
            if not 0 <= token < self.n_vocab:
                raise HostRequestError(f"Token id {token} is not in this model's vocabulary "
                                       f"(0–{self.n_vocab - 1}).")
            piece = self._pieces[token] = self._piece_bytes(token, special=True)
        return piece

    def _piece_bytes(self, token: int, special: bool) -> bytes:
        """The bytes of one token (llama-cpp-python's helper returns a padded 32-byte buffer)."""
        size = 64
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, size, 0, special)
            if n >= 0:
                return buffer.raw[:n]
            size = -n

    def _piece(self, token: int) -> str:
        return self._piece_bytes(token, special=True).decode("utf-8", "replace")

    def _end_tokens(self) -> list[int]:
        if self._end_token_list is None:
            self._end_token_list = [t for t in range(self.n_vocab) if self._is_end(t)]
        return self._end_token_list

    def _is_end(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    # -- text ----------------------------------------------------------------------------

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = True) -> list[int]:
        return self.model.tokenize(text.encode(), add_bos=add_special, special=parse_special)

    def detokenize(self, tokens: list[int]) -> str:
        return b"".join(self._piece_bytes(t, special=True) for t in tokens).decode("utf-8", "replace")

    def token_pieces(self, tokens: list[int]) -> list[str]:
        return [self._piece(t) for t in tokens]

    def pieces(self, tokens: list[int]) -> list[bytes]:
        return [self.token_bytes(int(t)) for t in tokens]

    def render(self, messages: list[ChatMessage], add_generation_prompt: bool = True) -> str:
        special = self.metadata.special_tokens
        return render_chat(
            self.metadata.chat_template,
            messages,
            bos_token=special.bos_text,
            eos_token=special.eos_text,
            add_generation_prompt=add_generation_prompt,
        )

    def prompt_tokens(self, request: GenerationRequest | ScoreRequest) -> list[int]:
        if request.messages:
            text = self.render(list(request.messages))
            bos = self.metadata.special_tokens.bos_text
            # The tokenizer adds BOS itself when the model asks for it; a template that writes
            # it too would double it.
            if bos and text.startswith(bos) and self.model.add_bos_token():
                text = text[len(bos) :]
            return self.tokenize(text, add_special=True, parse_special=True)
        # Raw prompts may spell out template tokens (<|im_start|>): parse them, as llama-server does.
        return self.tokenize(request.prompt or "", add_special=True, parse_special=True)

    # -- generation ----------------------------------------------------------------------

    def submit(self, request_id: int, request: GenerationRequest, emit: Emit,
               finished: Callable[[Sequence], None]) -> Sequence:
        """Queue a request for batched decoding; ``finished`` is called when it ends.

        Raises HostRequestError at once for what is wrong with the request itself.
        """
        self._refuse_on_embedding_context()
        prompt = self.prompt_tokens(request)
        n_ctx = self.metadata.n_ctx
        forced = list(request.forced_tokens)
        if len(prompt) + len(forced) >= n_ctx:
            raise HostRequestError(
                f"The prompt is {len(prompt)} tokens long"
                + (f" and the branch forces {len(forced)} more" if forced else "")
                + f"; the context window holds {n_ctx}."
            )
        sampling = request.sampling
        if forced:
            self.pieces(forced)  # an id outside the vocabulary is refused here
            if sampling.grammar:
                raise HostRequestError("A branch cannot force tokens under a grammar: llama.cpp's "
                                       "grammar sampler aborts on a token it does not allow.")
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        key = self.adapter_key(request.adapters)
        sampler = TokenSampler(self.vocab, self.n_vocab, sampling, seed,
                               self._end_tokens() if sampling.ignore_eos else ())
        sampler.remember_prompt(prompt, sampling.repeat_last_n)

        def ended(sequence: Sequence) -> None:
            self.decoder.release(sequence)
            finished(sequence)

        # max_tokens counts the forced tokens too, but never cuts them off.
        max_tokens = max(min(sampling.max_tokens, n_ctx - len(prompt)), len(forced))
        sequence = Sequence(
            request_id=request_id, request=request, prompt=prompt, sampler=sampler, seed=seed,
            adapter_key=key, emit=emit, finished=ended, max_tokens=max_tokens,
            token_bytes=self.token_bytes)
        self.decoder.submit(sequence)
        return sequence

    def submit_score(self, request_id: int, request: ScoreRequest,
                     finished: Callable[[ScoreSequence], None]) -> ScoreSequence:
        """Queue an answer to be scored under its prompt (scoring.py); ``finished`` is called
        with the sequence when its last chunk is in (or when it failed)."""
        self._refuse_on_embedding_context()
        prompt = self.prompt_tokens(request)
        # The answer continues the prompt: no BOS of its own, and text that looks like a
        # template token is text here, as it would be in a generated answer.
        answer = self.tokenize(request.answer, add_special=False, parse_special=False)
        if not answer:
            raise HostRequestError("The answer to score is empty.")
        if not prompt:
            raise HostRequestError("The prompt to score under is empty: the answer's first "
                                   "token would have nothing to be predicted from.")
        n_ctx = self.metadata.n_ctx
        if len(prompt) + len(answer) > n_ctx:
            raise HostRequestError(
                f"The prompt ({len(prompt)} tokens) and the answer ({len(answer)} tokens) do "
                f"not fit together in the context window of {n_ctx} tokens.")

        def ended(sequence: ScoreSequence) -> None:
            self.decoder.release(sequence)
            finished(sequence)

        sequence = ScoreSequence(
            request_id=request_id, prompt=prompt + answer, context_length=len(prompt),
            top_k=request.top_k, adapter_key=self.adapter_key(request.adapters),
            finished=ended, token_bytes=self.token_bytes)
        self.decoder.submit(sequence)
        return sequence

    # -- embeddings (embedding.py) ---------------------------------------------------------

    def embed(self, texts: list[str]) -> list[bytes]:
        if not self.settings.embedding:
            raise HostRequestError("This model was loaded for generation; load it with "
                                   "embeddings on to embed texts.")
        if self._embedder is None:
            from .embedding import Embedder

            self._embedder = Embedder(self)
        return self._embedder.embed(texts)

    def _refuse_on_embedding_context(self) -> None:
        if self.settings.embedding:
            raise HostRequestError("This model was loaded for embeddings; it does not generate.")

    @property
    def busy(self) -> bool:
        return self.decoder.busy

    def step(self, is_cancelled: Callable[[int], bool]) -> None:
        self.decoder.step(is_cancelled)

    def close(self) -> None:
        if self._embedder is not None:
            self._embedder.close()
        self.decoder.close()
        for adapter in self._adapters.values():
            llama_cpp.llama_adapter_lora_free(adapter)
        self._adapters.clear()
        self.context.close()
        self.model.close()
