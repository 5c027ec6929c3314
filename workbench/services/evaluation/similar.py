"""``similar`` (and ``similar:cosine``, ``similar:dot``, ``similar:euclidean``): the output
means what the value says, by the embeddings of the two.

promptfoo (src/assertions/similar.ts, src/matchers/similarity.ts): the value is a text, or a
list of texts of which any one will do; both it and the output are embedded by the grading
provider's embedding model and compared — cosine similarity by default, the dot product or
the euclidean distance with the suffix. A similarity passes when it reaches the threshold
(default 0.75) and is the score; a distance passes when it is at most the threshold and scores
1 / (1 + distance). A list passes on its first similar value; when none is, the score is the
best of them. ``not-similar`` passes only when the output is dissimilar to every value.

The embedding model: the assertion's ``provider`` — a library name or GGUF file (loaded once
with embeddings on, as the retrieval lab loads one: engine/host/embedding.py, pooled and
L2-normalised) or a remote ``openai+http://…`` server's ``/v1/embeddings`` — and without one
the bundled SmolLM2 model's mean-pooled embeddings, the retrieval lab's default. promptfoo's
default is OpenAI's text-embedding-3-large, so the same threshold is not the same bar: the
run's notes say so. The values' vectors are kept for the run; an output's are not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from ...core.errors import WorkbenchError
from ...core.evaluation import Assertion, AssertionResult
from ..retrieval.embedder import DEFAULT_MODEL, Embedders

SIMILAR_TYPES = frozenset({"similar", "similar:cosine", "similar:dot", "similar:euclidean"})
DEFAULT_THRESHOLD = 0.75
EPSILON = 2.220446049250313e-16  # JavaScript's Number.EPSILON, as promptfoo compares
QUOTE_CHARS = 30

Embed = Callable[[list[str]], Sequence[Sequence[float]]]


def similar_problem(assertion: Assertion) -> str | None:
    value = assertion.value
    texts = value if isinstance(value, list) else [value]
    if not texts or not all(isinstance(t, (str, int, float)) and str(t).strip() for t in texts):
        return (f"{assertion.name} needs a text value, or a list of texts (the output must "
                "mean one of them)")
    return None


def measure(metric: str, a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity, dot product or euclidean distance of two vectors (a zero vector,
    the embedding of an empty text, is similar to nothing)."""
    if metric == "euclidean":
        return float(np.linalg.norm(a - b))
    dot = float(np.dot(a, b))
    if metric == "dot":
        return dot
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return dot / norms if norms > 0 else 0.0


def judged(metric: str, value: float, threshold: float) -> tuple[bool, float, str]:
    """(passed, score, what was found) for one value, the plain form."""
    if metric == "euclidean":
        passed = value <= threshold + EPSILON
        return passed, 1.0 / (1.0 + value), \
            f"euclidean distance {value:.2f} {'≤' if passed else '>'} {threshold:g}"
    passed = value >= threshold - EPSILON
    name = "dot product" if metric == "dot" else "cosine similarity"
    return passed, value, f"{name} {value:.2f} {'≥' if passed else '<'} {threshold:g}"


class Similarity:
    """Checks ``similar`` assertions; opens each embedding model once (``models``: the
    ModelService) and keeps the values' vectors."""

    def __init__(self, models):
        self.models = models
        self._embedders: dict[str, Embed] = {}
        self._vectors: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def result(self, assertion: Assertion, text: str) -> AssertionResult:
        metric = assertion.type.partition(":")[2] or "cosine"
        threshold = DEFAULT_THRESHOLD if assertion.threshold is None else assertion.threshold
        values = [str(v) for v in (assertion.value if isinstance(assertion.value, list)
                                   else [assertion.value])]
        try:
            references = self._values(assertion.provider, values)
            output = self._embed(assertion.provider, [text])[0]
        except WorkbenchError as error:  # a fault of the embedding model, not the answer's
            return AssertionResult(assertion, False, 0.0,
                                   f"the texts could not be embedded: {error}", undecided=True)
        found = [judged(metric, measure(metric, output, r), threshold) for r in references]
        first = next((i for i, f in enumerate(found) if f[0]), None)
        if first is not None:
            passed, score, said = found[first]
        else:
            best = max(range(len(found)), key=lambda i: found[i][1])
            passed, score, said = found[best]
            first = best
        if len(values) > 1:
            said = (f"{said} to {_quote(values[first])}" if passed
                    else f"none of {len(values)} values is similar enough (best: {said})")
        score = min(1.0, max(0.0, score))
        if assertion.negate:
            passed, score = not passed, 1.0 - score
        return AssertionResult(assertion, passed, score, "" if passed else said)

    # -- embeddings ------------------------------------------------------------------------

    def _values(self, model: str | None, values: list[str]) -> list[np.ndarray]:
        key = model or DEFAULT_MODEL
        with self._lock:
            missing = [v for v in dict.fromkeys(values) if (key, v) not in self._vectors]
        if missing:
            for value, vector in zip(missing, self._embed(model, missing)):
                with self._lock:
                    self._vectors[(key, value)] = vector
        with self._lock:
            return [self._vectors[(key, v)] for v in values]

    def _embed(self, model: str | None, texts: list[str]) -> list[np.ndarray]:
        vectors = self._embedder(model)(texts)
        if len(vectors) != len(texts):
            raise WorkbenchError(f"{len(texts)} texts were sent and {len(vectors)} vectors "
                                 "came back")
        return [np.asarray(v, dtype=np.float64) for v in vectors]

    def _embedder(self, model: str | None) -> Embed:
        key = model or DEFAULT_MODEL
        with self._lock:
            found = self._embedders.get(key)
        if found is not None:
            return found
        if self.models is None:
            raise WorkbenchError("no models are available to embed with")
        if model and self.models.is_remote(model):
            remote = self.models.open_remote(model)
            embed = getattr(remote, "embed", None)
            if embed is None:
                raise WorkbenchError(f"the backend of {model} cannot embed texts")
        else:
            embedders = Embedders(self.models)
            embed = embedders.host(embedders.resolve(model)).embed
        with self._lock:
            return self._embedders.setdefault(key, embed)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…")
