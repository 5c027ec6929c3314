"""Embeddings in the model host: pooled, L2-normalised vectors of texts (the retrieval lab).

A host loaded with ``LoadSettings.embedding`` makes its context with embeddings on and the
pooling the GGUF names (``<arch>.pooling_type``, as embedding models such as nomic-embed or
bge write it). A file that names none — a chat model such as the bundled SmolLM2 — gets mean
pooling, and the metadata says so (``engine["pooling_source"]``).

Like llama-cpp-python's ``Llama.embed``, several texts go into one ``llama_decode``, one
sequence id each, as many as fit in ``n_batch`` tokens: the KV cache is unified (all of a
batch's sequences share it) and emptied before each batch, and the micro-batch is the whole
batch so that a sequence is pooled in one piece (non-causal encoders need it). A text longer
than ``n_batch`` tokens is cut to its first ``n_batch`` tokens, as ``Llama.embed`` does.
"""

from __future__ import annotations

import llama_cpp
import numpy as np

from ...core.errors import HostRequestError, ModelFileError

POOLING_NAMES = {llama_cpp.LLAMA_POOLING_TYPE_NONE: "none",
                 llama_cpp.LLAMA_POOLING_TYPE_MEAN: "mean",
                 llama_cpp.LLAMA_POOLING_TYPE_CLS: "cls",
                 llama_cpp.LLAMA_POOLING_TYPE_LAST: "last",
                 llama_cpp.LLAMA_POOLING_TYPE_RANK: "rank"}


def file_pooling(metadata: dict[str, str]) -> tuple[int, str]:
    """The pooling to use and where it came from ("file", or why another was chosen)."""
    architecture = metadata.get("general.architecture", "")
    value = metadata.get(f"{architecture}.pooling_type")
    if value is None:
        return llama_cpp.LLAMA_POOLING_TYPE_MEAN, "mean: the file names no pooling"
    pooling = int(value)
    if pooling == llama_cpp.LLAMA_POOLING_TYPE_NONE:
        return llama_cpp.LLAMA_POOLING_TYPE_MEAN, "mean: the file says none (one vector per token)"
    return pooling, "file"


def configure(params, model, path: str) -> dict:
    """Turn context parameters into an embedding context's; what to add to the metadata."""
    pooling, source = file_pooling(model.metadata())
    if pooling == llama_cpp.LLAMA_POOLING_TYPE_RANK:
        raise ModelFileError(path, "it is a reranking model (pooling 'rank'), not an embedding "
                                   "model")
    params.embeddings = True
    params.pooling_type = pooling
    params.kv_unified = True  # a batch's sequences share the cache; it is emptied per batch
    params.n_seq_max = min(params.n_batch, llama_cpp.llama_max_parallel_sequences())
    params.n_ctx = params.n_batch
    params.n_ubatch = params.n_batch  # a sequence is pooled within one micro-batch
    return {"embedding": True, "pooling": POOLING_NAMES.get(pooling, str(pooling)),
            "pooling_source": source, "n_embd": int(llama_cpp.llama_model_n_embd(model.model)),
            "n_seq_max": int(params.n_seq_max)}


class Embedder:
    """Batched embedding on a runtime's context (made by ``configure``)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.ctx = runtime.context.ctx
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_embd = int(llama_cpp.llama_model_n_embd(runtime.model.model))
        self.n_batch = int(llama_cpp.llama_n_batch(self.ctx))
        self.n_seq = int(llama_cpp.llama_n_seq_max(self.ctx))
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)

    def embed(self, texts: list[str]) -> list[bytes]:
        """One float32 vector per text (little-endian bytes), L2-normalised; an empty text
        (no tokens) gets a zero vector."""
        vectors: list[np.ndarray | None] = []
        group: list[tuple[int, list[int]]] = []  # (index in vectors, tokens)
        used = 0
        for text in texts:
            # As Llama.embed tokenizes: the model's BOS if it wants one, no special tokens.
            tokens = self.runtime.tokenize(text, add_special=True,
                                           parse_special=False)[:self.n_batch]
            vectors.append(None)
            if not tokens:
                continue
            if group and (used + len(tokens) > self.n_batch or len(group) >= self.n_seq):
                self._decode(group, vectors)
                group, used = [], 0
            group.append((len(vectors) - 1, tokens))
            used += len(tokens)
        if group:
            self._decode(group, vectors)
        zero = np.zeros(self.n_embd, dtype=np.float32)
        return [(zero if v is None else v).astype("<f4").tobytes() for v in vectors]

    def _decode(self, group: list[tuple[int, list[int]]], vectors: list) -> None:
        llama_cpp.llama_memory_clear(self.memory, True)
        batch, n = self.batch, 0
        for seq_id, (_, tokens) in enumerate(group):
            for position, token in enumerate(tokens):
                batch.token[n] = token
                batch.pos[n] = position
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq_id
                batch.logits[n] = True  # every token is an output when embedding (Llama.embed)
                n += 1
        batch.n_tokens = n
        code = llama_cpp.llama_decode(self.ctx, batch)
        if code != 0:
            raise HostRequestError(f"llama.cpp could not embed the batch (llama_decode "
                                   f"returned {code}).")
        for seq_id, (index, _) in enumerate(group):
            pointer = llama_cpp.llama_get_embeddings_seq(self.ctx, seq_id)
            if not pointer:
                raise HostRequestError("llama.cpp returned no pooled embedding.")
            vector = np.ctypeslib.as_array(pointer, shape=(self.n_embd,)).astype(np.float32)
            norm = float(np.linalg.norm(vector))
            vectors[index] = vector / norm if norm > 0 else vector

    def close(self) -> None:
        if self.batch is not None:
            llama_cpp.llama_batch_free(self.batch)
            self.batch = None
