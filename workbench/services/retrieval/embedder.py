"""Embedding models for retrieval: resolving one (before any work), its host, its space.

A model is loaded once for embeddings through ``ModelService.load`` (settings with
``embedding=True``): the host stays open between queries and is shared by every set that uses
the model. The default is the bundled SmolLM2 model's own mean-pooled embeddings: it works
offline with nothing to download (docs/retrieval.md says why, and what is better).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ...core.errors import WorkbenchError
from ...core.job_state import JobState
from ...core.retrieval import EMBEDDING_WINDOW, EmbeddingSpace
from ...engine.host.client import ModelHost
from ...library.hashing import file_sha256

DEFAULT_MODEL = "bundled"
BATCH_TEXTS = 32  # texts per host call: the unit of progress, cancel and storing
# One llama_decode holds up to n_batch tokens of several texts (engine/host/embedding.py).
LOAD = {"n_ctx": EMBEDDING_WINDOW, "n_batch": EMBEDDING_WINDOW, "n_ubatch": EMBEDDING_WINDOW,
        "n_parallel": 1, "embedding": True}


class Embedders:
    def __init__(self, models):
        self.models = models  # services.models.ModelService

    def resolve(self, model: str | None) -> Path:
        """The model file for a library name or path ("bundled"/None: the bundled model).
        Fails with the name and the reason before anything is read or embedded."""
        name = None if model in (None, "", DEFAULT_MODEL) else model
        try:
            return self.models.resolve(name)
        except WorkbenchError as error:
            raise WorkbenchError(f"The embedding model '{model or DEFAULT_MODEL}' cannot be "
                                 f"used: {error}") from None

    def host(self, path: str | Path) -> ModelHost:
        return self.models.load(self.models.settings_for(str(path), **LOAD))

    def space(self, path: str | Path) -> EmbeddingSpace:
        """What vectors of this model are: its file's hash, dimension and pooling."""
        meta = self.host(path).metadata
        return EmbeddingSpace(model_path=str(path), model_sha256=file_sha256(path),
                              model_name=self._library_name(path) or meta.name,
                              dim=int(meta.engine["n_embd"]),
                              pooling=str(meta.engine["pooling"]))

    def _library_name(self, path: str | Path) -> str | None:
        """The name the library lists the file under (what `-m`/`--model` take), rather than
        the GGUF's own general.name."""
        wanted = os.path.realpath(path)
        try:
            known = self.models.list_models()
        except WorkbenchError:
            return None
        return next((m.name for m in known if os.path.realpath(m.path) == wanted), None)

    def check_unchanged(self, space: EmbeddingSpace) -> None:
        """The set's model file is still the one its vectors were made with."""
        path = Path(space.model_path)
        if not path.is_file():
            raise WorkbenchError(f"The embedding model {path} of this set is gone; re-embed "
                                 "the set with another model (workbench docs reembed).")
        if file_sha256(path) != space.model_sha256:
            raise WorkbenchError(f"The embedding model {path} changed since the set was "
                                 "embedded; re-embed the set (workbench docs reembed).")

    def embed(self, host: ModelHost, texts: list[str], *,
              each: Callable[[int, list[bytes]], None], job: JobState | None = None) -> int:
        """Embed in batches of BATCH_TEXTS; ``each(offset, vectors)`` stores a batch (and
        reports the job's progress: only the caller knows the whole job's count). Stops
        between batches once ``job`` is cancelled. Returns how many texts were embedded."""
        done = 0
        for offset in range(0, len(texts), BATCH_TEXTS):
            if job is not None and job.cancelled:
                break
            batch = texts[offset:offset + BATCH_TEXTS]
            each(offset, host.embed_packed(batch))
            done += len(batch)
        return done
