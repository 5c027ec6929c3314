"""Continuous batching: many requests for one loaded model decoded together.

Each request is a sequence with its own KV stream (llama.cpp's non-unified cache, one stream
per parallel slot). Every step feeds the next token of all generating sequences in one
``llama_decode`` and then one prompt chunk of the oldest sequence still reading its prompt.
Sequences join when a slot is free and leave when they finish; cancelling one ends only it.

Why the arithmetic of a sequence never depends on its neighbours (measured: batched greedy
equals the same request alone, token for token — tests/engine/test_batching.py):
- separate KV streams: attention of a sequence reads only its own stream, laid out as if it
  ran alone (a unified cache interleaves sequences and changes the sums: 2 of 8 equal);
- a prompt is always cut into the same chunks, aligned to multiples of ``chunk`` positions,
  and each chunk is decoded on its own, never beside another sequence's tokens (llama.cpp
  splits mixed batches into equal per-sequence pieces, which would re-cut it);
- a cached prefix is reused only in whole aligned chunks, which a fresh run would have
  computed the same way; a prefix held by another slot is copied (``llama_memory_seq_cp``)
  rather than recomputed.
A score (scoring.py) is scheduled as a prompt that never generates: its chunks ask for logits
at the answer's positions. Requests under different LoRA adapter states never share a step or
a cache: a request whose adapters differ waits until the running ones finish, then the
adapters switch and every stream is emptied.
"""

from __future__ import annotations

import ctypes
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import llama_cpp
import numpy as np

from .sequence import Sequence

PROMPT_CHUNK = 64  # tokens; costs nothing measurable against one big batch on the CPU


@dataclass
class Slot:
    """One KV stream: the tokens it holds, position by position, and who is using it."""

    tokens: list[int] = field(default_factory=list)
    canonical: int = 0  # positions below this were computed as whole aligned prompt chunks
    sequence: Sequence | None = None

    def reusable(self, prompt: list[int], chunk: int) -> int:
        shared = 0
        for held, wanted in zip(self.tokens, prompt):
            if held != wanted:
                break
            shared += 1
        return min(shared, self.canonical) // chunk * chunk


class BatchDecoder:
    def __init__(self, ctx, n_vocab: int, n_parallel: int, *, chunk: int,
                 is_end: Callable[[int], bool], piece: Callable[[int], bytes],
                 set_adapters: Callable[[tuple], None]):
        self.ctx = ctx
        self.memory = llama_cpp.llama_get_memory(ctx)
        self.n_vocab = n_vocab
        self.chunk = chunk
        self.slots = [Slot() for _ in range(n_parallel)]
        self.waiting: deque[Sequence] = deque()
        self.adapter_key: tuple = ()
        self._is_end = is_end
        self._piece = piece
        self._set_adapters = set_adapters
        self._batch = llama_cpp.llama_batch_init(max(chunk, n_parallel), 0, 1)
        self._admitted = itertools.count()
        self._order: dict[int, int] = {}  # request id -> admission number (prefill is FIFO)

    @property
    def busy(self) -> bool:
        return bool(self.waiting) or any(slot.sequence for slot in self.slots)

    def active(self) -> list[Sequence]:
        return [slot.sequence for slot in self.slots if slot.sequence is not None]

    def submit(self, sequence: Sequence) -> None:
        self.waiting.append(sequence)

    def step(self, is_cancelled: Callable[[int], bool]) -> None:
        for sequence in [*self.waiting, *self.active()]:
            if is_cancelled(sequence.request_id):
                sequence.end("cancelled")
        self._admit()
        self._generate()
        self._prefill()

    def release(self, sequence: Sequence) -> None:
        """Called when a sequence ends: free its slot (its KV stays, for reuse)."""
        if sequence in self.waiting:
            self.waiting.remove(sequence)
        if sequence.slot is not None and self.slots[sequence.slot].sequence is sequence:
            self.slots[sequence.slot].sequence = None
        self._order.pop(sequence.request_id, None)

    def close(self) -> None:
        for sequence in [*self.waiting, *self.active()]:
            sequence.end("cancelled")
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None

    # -- admission -----------------------------------------------------------------------

    def _admit(self) -> None:
        while self.waiting:
            sequence = self.waiting[0]
            if sequence.adapter_key != self.adapter_key:
                if self.active():
                    return  # this adapter state's sequences finish first
                self._set_adapters(sequence.adapter_key)
                self.adapter_key = sequence.adapter_key
                llama_cpp.llama_memory_clear(self.memory, True)
                for slot in self.slots:
                    slot.tokens, slot.canonical = [], 0
            index = self._choose_slot(sequence)
            if index is None:
                return
            self.waiting.popleft()
            self.slots[index].sequence = sequence
            sequence.slot = index
            self._order[sequence.request_id] = next(self._admitted)

    def _choose_slot(self, sequence: Sequence) -> int | None:
        """The free slot that already holds most of the prompt, else the lowest free one
        (llama.cpp computes consecutive stream ids in one graph, so low ids batch best)."""
        free = [i for i, slot in enumerate(self.slots) if slot.sequence is None]
        if not free:
            return None
        return max(free, key=lambda i: (self.slots[i].reusable(sequence.prompt, self.chunk), -i))

    # -- prompts -------------------------------------------------------------------------

    def _prefill(self) -> None:
        reading = [s for s in self.active() if s.prefilling and s.finish is None]
        if not reading:
            return
        sequence = min(reading, key=lambda s: self._order[s.request_id])
        slot = self.slots[sequence.slot]
        if sequence.position == 0:
            self._reuse(sequence, slot)
        start = sequence.position
        end = min(len(sequence.prompt), (start // self.chunk + 1) * self.chunk)
        last = end == len(sequence.prompt)
        tokens = sequence.prompt[start:end]
        wanted = [start + i for i in range(len(tokens)) if sequence.wants_logits(start + i)]
        if not self._decode([(sequence, token, start + i, start + i in wanted)
                             for i, token in enumerate(tokens)]):
            return
        del slot.tokens[start:]
        slot.tokens.extend(tokens)
        slot.canonical = end // self.chunk * self.chunk
        sequence.position = end
        if sequence.scoring:
            if wanted:
                sequence.take_logits(wanted, self._rows([p - start for p in wanted]))
            if last:
                sequence.end("stop")
        elif last:
            if sequence.max_tokens <= 0:
                sequence.end("length")
            else:
                self._sample(sequence, len(tokens) - 1)

    def _rows(self, indices: list[int]) -> np.ndarray:
        """The logits of these batch positions, one row each (a view when llama.cpp holds
        them side by side, as it does for one sequence's chunk)."""
        first = llama_cpp.llama_get_logits_ith(self.ctx, indices[0])
        rows = np.ctypeslib.as_array(first, shape=(len(indices), self.n_vocab))
        last = llama_cpp.llama_get_logits_ith(self.ctx, indices[-1])
        gap = ctypes.cast(last, ctypes.c_void_p).value - ctypes.cast(first, ctypes.c_void_p).value
        if gap == (len(indices) - 1) * self.n_vocab * rows.itemsize:
            return rows
        return np.stack([np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, i),
                                               shape=(self.n_vocab,)) for i in indices])

    def _reuse(self, sequence: Sequence, slot: Slot) -> None:
        """Start from the longest cached prefix: this slot's own, or a copy of another's."""
        prompt, index = sequence.prompt, sequence.slot
        own = slot.reusable(prompt, self.chunk)
        source, best = None, own
        for i, other in enumerate(self.slots):
            if i != index:
                found = other.reusable(prompt, self.chunk)
                if found > best:
                    source, best = i, found
        # The chunk holding the first position whose logits are needed is always computed
        # (the whole prompt cached: its last chunk is recomputed, for the logits).
        best = min(best, sequence.first_logits // self.chunk * self.chunk)
        if source is not None and best > own:
            # llama.cpp copies between streams only whole; the tail is cut off below.
            llama_cpp.llama_memory_seq_cp(self.memory, source, index, -1, -1)
            slot.tokens, slot.canonical = list(self.slots[source].tokens), self.slots[source].canonical
        else:
            best = min(best, own)
        if not llama_cpp.llama_memory_seq_rm(self.memory, index, best, -1):
            llama_cpp.llama_memory_seq_rm(self.memory, index, -1, -1)
            best = 0
        del slot.tokens[best:]
        slot.canonical = min(slot.canonical, best)
        sequence.position = sequence.cached = best

    # -- generation ----------------------------------------------------------------------

    def _generate(self) -> None:
        live = sorted((s for s in self.active() if s.next_token is not None and s.finish is None),
                      key=lambda s: s.slot)
        if not live:
            return
        items = [(s, s.next_token, s.kv_length - 1, True) for s in live]
        if not self._decode(items):
            return
        for i, sequence in enumerate(live):
            self.slots[sequence.slot].tokens.append(sequence.next_token)
            self._sample(sequence, i)

    def _sample(self, sequence: Sequence, index: int) -> None:
        """Choose the next token from the logits at batch position ``index``: a branch's
        forced token while any is left, else the sequence's sampler."""
        forced = sequence.next_forced()
        if forced is not None:
            sequence.sampler.accept(forced)
            token = forced
        else:
            token = sequence.sampler.sample(self.ctx, index)

        def logits() -> np.ndarray:
            return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, index),
                                         shape=(self.n_vocab,))

        sequence.accept(token, self._is_end(token), self._piece(token), logits,
                        forced=forced is not None)

    def _decode(self, items: list[tuple[Sequence, int, int, bool]]) -> bool:
        """One llama_decode; on failure every sequence in it ends with the reason."""
        batch = self._batch
        batch.n_tokens = len(items)
        for i, (sequence, token, position, wants_logits) in enumerate(items):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = sequence.slot
            batch.logits[i] = wants_logits
        code = llama_cpp.llama_decode(self.ctx, batch)
        if code == 0:
            return True
        reason = ("llama.cpp found no room in the KV cache" if code == 1 else
                  f"llama.cpp could not decode the batch (code {code})")
        for sequence in {id(s): s for s, *_ in items}.values():
            self.slots[sequence.slot].tokens, self.slots[sequence.slot].canonical = [], 0
            llama_cpp.llama_memory_seq_rm(self.memory, sequence.slot, -1, -1)
            sequence.end("error", reason)
        return False
