"""Retrieval (RAG) in domain terms: document sets, chunks, embedding spaces, search results.

The services (``services/retrieval/``) fill these; the store keeps them; the composer and the
grid read them. Pure data, no SQL, no llama.cpp.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from .ids import new_id, utc_now
from .wording import counted

CHUNK_STRATEGIES = ("tokens", "headings", "sentences", "paragraphs")
RETRIEVAL_MODES = ("none", "bm25", "dense", "hybrid")
SEARCH_MODES = RETRIEVAL_MODES[1:]  # what a search can be asked for
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al. 2009)
# Tokens one text is embedded from (the embedding host's n_batch): a longer chunk would be
# embedded from its start only, so chunks are at most this long.
EMBEDDING_WINDOW = 512


@dataclass(frozen=True)
class ChunkingSpec:
    """How a document is cut: ``tokens`` = ``size`` model tokens with ``overlap``; ``headings``
    = markdown sections; ``sentences`` / ``paragraphs`` = whole units packed up to ``size``
    tokens."""

    strategy: str = "tokens"
    size: int = 256
    overlap: int = 32

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> ChunkingSpec:
        data, default = data or {}, cls()
        return cls(strategy=str(data.get("strategy", default.strategy)),
                   size=int(data.get("size", default.size)),
                   overlap=int(data.get("overlap", default.overlap)))

    def describe(self) -> str:
        if self.strategy == "tokens":
            return f"{self.size} tokens, {self.overlap} overlap"
        if self.strategy == "headings":
            return "markdown headings"
        return f"{self.strategy} up to {self.size} tokens"


@dataclass(frozen=True)
class EmbeddingSpace:
    """What a set of vectors was made with; vectors of another space are never compared."""

    model_path: str
    model_sha256: str
    model_name: str
    dim: int
    pooling: str  # "mean", "cls", "last", … as llama.cpp names it

    @property
    def key(self) -> str:
        return f"{self.model_sha256[:16]}-{self.dim}-{self.pooling}"


@dataclass(frozen=True)
class DocumentSet:
    name: str
    session_id: str | None = None
    chunking: ChunkingSpec = field(default_factory=ChunkingSpec)
    embedding: EmbeddingSpace | None = None  # the space its vectors are in (None: not embedded)
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class SourceDocument:
    """One file of a set, stored once (by content hash)."""

    set_id: str
    path: str
    title: str
    sha256: str
    size: int
    chunks: int = 0
    id: str = field(default_factory=new_id)
    added_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class ChunkView:
    """A chunk with where it lies in its document's text (``start``/``end``: characters)."""

    id: int
    document_id: str
    position: int
    text: str
    start: int
    end: int
    tokens: int


@dataclass(frozen=True)
class Retrieved:
    """One search hit. ``score``: the fused (RRF) score for hybrid, else the mode's own
    (BM25: higher is better; dense: cosine similarity)."""

    chunk_id: int
    document_id: str
    source: str  # the file's path
    title: str
    position: int
    text: str
    score: float
    rank: int  # 1-based
    bm25_rank: int | None = None
    dense_rank: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Retrieved:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class RetrievalSettings:
    """A variant's retrieval: which set, how, how many. ``mode == "none"``: no retrieval and
    ``{{ context }}`` renders empty."""

    set_name: str = ""
    mode: str = "none"
    k: int = 4
    score_floor: float | None = None

    @property
    def active(self) -> bool:
        return self.mode != "none" and bool(self.set_name)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> RetrievalSettings:
        data, default = data or {}, cls()
        floor = data.get("score_floor")
        return cls(set_name=str(data.get("set_name", default.set_name)),
                   mode=str(data.get("mode", default.mode)), k=int(data.get("k", default.k)),
                   score_floor=None if floor is None else float(floor))


@dataclass(frozen=True)
class FileProblem:
    """A file that was skipped, and why, in words a user can act on (or, as an index report's
    notice, a file that was added and what its reader warned of)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    embedded: int = 0
    skipped: list[FileProblem] = field(default_factory=list)
    notices: list[FileProblem] = field(default_factory=list)  # files added, with a warning

    def summary(self) -> str:
        text = (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.removed} removed; {counted(self.chunks, 'chunk')}, "
                f"{self.embedded} embedded")
        if self.skipped:
            text += f"; {len(self.skipped)} skipped"
        if self.notices:
            text += f"; {len(self.notices)} with notices"
        return text


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids: score = Σ 1/(k + rank). Best first; ties by first appearance."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


# -- scoring retrieval against gold sources (a case names the files that answer it) --------

def source_matches(source: str, gold: str) -> bool:
    """A hit's source (a stored path) is a gold source given as a file name or path tail."""
    source, gold = source.replace("\\", "/"), gold.replace("\\", "/").strip()
    return bool(gold) and (source == gold or source.endswith("/" + gold.lstrip("/")))


def _sources(retrieved) -> list[str]:
    return [r.source if isinstance(r, Retrieved) else str(r) for r in retrieved]


def recall_at_k(retrieved, gold, k: int | None = None) -> float:
    """Share of the gold sources found among the first ``k`` hits (all hits when None).
    ``retrieved``: Retrieved hits or source paths, best first. No gold sources: 1.0."""
    gold = [g for g in gold if g]
    if not gold:
        return 1.0
    top = _sources(retrieved)[:k] if k is not None else _sources(retrieved)
    return sum(any(source_matches(s, g) for s in top) for g in gold) / len(gold)


def mrr(retrieved, gold) -> float:
    """Reciprocal rank of the first hit from a gold source (0.0 if none): one query's share
    of the mean reciprocal rank (average it over the queries)."""
    for rank, source in enumerate(_sources(retrieved), start=1):
        if any(source_matches(source, g) for g in gold if g):
            return 1.0 / rank
    return 0.0
