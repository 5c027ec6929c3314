"""Embeddings from the model host equal llama-cpp-python's own ``Llama.embed`` of the same
text; the host says which pooling it used and why."""

from __future__ import annotations

import llama_cpp
import numpy as np
import pytest

from workbench.core.errors import HostRequestError
from workbench.core.generation import GenerationRequest
from workbench.core.model_info import LoadSettings
from workbench.engine.host.client import ModelHost

TEXTS = [
    "The Amber tram line runs every twelve minutes.",
    "Water bills are sent every quarter; a household pays a standing charge.",
    "Café déjà vu — 東京 🚋",
    "# Rules of the Civic Library\n\nThe Civic Library on Quire Street lends books for three "
    "weeks. A loan may be renewed twice, online or at the desk.",
    "hello",
]


@pytest.fixture(scope="module")
def embedding_host(bundled_model, tmp_path_factory):
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=512, n_batch=512, n_ubatch=512,
                                  n_parallel=1, embedding=True),
                     logs_dir=tmp_path_factory.mktemp("embed-logs"))
    host.start()
    yield host
    host.close()


def test_host_embeddings_equal_llama_cpp_pythons(embedding_host, bundled_model):
    vectors = np.array(embedding_host.embed(TEXTS + [""]))  # one request: batched in the host
    assert vectors.shape == (len(TEXTS) + 1, 576)
    direct = llama_cpp.Llama(str(bundled_model), embedding=True, verbose=False,
                             pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)
    try:
        for text, vector in zip(TEXTS, vectors):
            expected = np.array(direct.embed(text, normalize=True))
            assert abs(np.linalg.norm(vector) - 1.0) < 1e-5
            assert float(vector @ expected) / np.linalg.norm(expected) >= 0.999, text
    finally:
        direct.close()
    assert not vectors[-1].any()  # an empty text: a zero vector, never a crash
    # Different texts differ: the vectors are not one constant.
    assert float(vectors[0] @ vectors[1]) < 0.99


def test_the_host_says_which_pooling_it_used(embedding_host):
    engine = embedding_host.metadata.engine
    assert (engine["embedding"], engine["pooling"], engine["n_embd"]) == (True, "mean", 576)
    assert engine["pooling_source"] == "mean: the file names no pooling"
    packed = embedding_host.embed_packed(["one text"])
    assert len(packed) == 1 and len(packed[0]) == 576 * 4  # float32 bytes


def test_an_embedding_host_refuses_to_generate_and_a_chat_host_to_embed(embedding_host,
                                                                         shared_host):
    with pytest.raises(HostRequestError, match="loaded for embeddings"):
        embedding_host.generate(GenerationRequest(prompt="hi")).result()
    with pytest.raises(HostRequestError, match="loaded for generation"):
        shared_host.embed(["hi"])


def test_embedding_stops_between_batches_once_its_job_is_cancelled(embedding_host):
    from workbench.core.job_state import JobState
    from workbench.services.retrieval.embedder import BATCH_TEXTS, Embedders

    job = JobState("embedding")
    stored: list[int] = []

    def store(offset: int, vectors: list[bytes]) -> None:
        stored.append(len(vectors))
        job.cancel()  # the user's Cancel while the first batch was being stored

    texts = [f"text number {i}" for i in range(3 * BATCH_TEXTS)]
    done = Embedders(models=None).embed(embedding_host, texts, each=store, job=job)
    assert done == BATCH_TEXTS and stored == [BATCH_TEXTS]
    assert Embedders(models=None).embed(embedding_host, texts[:3], each=lambda *_: None) == 3
