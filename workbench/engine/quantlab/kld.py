"""KL divergence from a reference model without keeping its full distributions.

The reference pass keeps, per position, its K most likely token ids, their log-probabilities
and the log of the mass of every other token (the tail). A quantized model is compared over
those K + 1 buckets: KL(P_ref || Q) = Σ_i p_i log(p_i / q_i) + p_tail log(p_tail / q_tail),
where q_tail is Q's mass outside the reference's top K. Merging outcomes into buckets can only
lower a KL divergence (the data processing inequality), so this is a lower bound of the full
vocabulary KL; docs/quantlab.md quotes how close it is for the bundled model.

numpy only, float64 throughout: the same code computes the reference and every arm, so the
reference compared with itself gives exactly 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..host.distribution import log_normalizers, top_ids

DEFAULT_TOP_K = 32


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Rows of logits → rows of log-probabilities (float64; the model host's normaliser)."""
    values = np.asarray(logits, dtype=np.float64)
    return values - log_normalizers(values)[..., None]


def _log_tail(logprobs: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """log of the mass outside ``ids`` per row, summed directly (1 − Σ top-K loses all
    precision when the top K hold nearly everything)."""
    mask = np.ones(logprobs.shape, dtype=bool)
    np.put_along_axis(mask, ids, False, axis=1)
    rest = np.where(mask, logprobs, -np.inf)
    top = rest.max(axis=1, keepdims=True)
    finite = np.isfinite(top)
    safe_top = np.where(finite, top, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log(np.exp(rest - safe_top).sum(axis=1, keepdims=True)) + safe_top
    return np.where(finite, total, -np.inf)[:, 0]


@dataclass
class Reference:
    """The reference's top-K per position (rows of all texts one after another)."""

    ids: np.ndarray  # (positions, K) int32, most likely first
    logprobs: np.ndarray  # (positions, K) float64
    log_tail: np.ndarray  # (positions,) float64
    text_lengths: np.ndarray  # (texts,) positions per text
    tokens: np.ndarray | None = None  # (positions,) the texts' token ids, so arms use the same

    @property
    def positions(self) -> int:
        return int(self.ids.shape[0])

    def rows(self, start: int, count: int) -> Reference:
        end = start + count
        return Reference(self.ids[start:end], self.logprobs[start:end],
                         self.log_tail[start:end], np.array([count]))

    def save(self, path: Path) -> None:
        extra = {} if self.tokens is None else {"tokens": self.tokens}
        np.savez_compressed(path, ids=self.ids, logprobs=self.logprobs, log_tail=self.log_tail,
                            text_lengths=self.text_lengths, **extra)

    @classmethod
    def load(cls, path: Path) -> Reference:
        with np.load(path) as data:
            tokens = data["tokens"] if "tokens" in data.files else None
            return cls(data["ids"], data["logprobs"], data["log_tail"], data["text_lengths"],
                       tokens)

    @classmethod
    def concat(cls, parts: list[Reference]) -> Reference:
        return cls(np.concatenate([p.ids for p in parts]),
                   np.concatenate([p.logprobs for p in parts]),
                   np.concatenate([p.log_tail for p in parts]),
                   np.concatenate([p.text_lengths for p in parts]))


def reference_from_logits(logits: np.ndarray, top_k: int = DEFAULT_TOP_K) -> Reference:
    """One text's logits (positions × vocabulary) → its top-K summary."""
    logprobs = log_softmax(logits)
    ids = top_ids(logprobs, top_k)  # the host's top-k: best first, ties by lower id
    top = np.take_along_axis(logprobs, ids, axis=1)
    return Reference(ids.astype(np.int32), top, _log_tail(logprobs, ids),
                     np.array([logprobs.shape[0]], dtype=np.int64))


def divergence(reference: Reference, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position: KL(P_ref || Q) over the reference's top-K + tail buckets, and whether
    Q's most likely token is the reference's. ``logits`` rows match the reference's rows."""
    if logits.shape[0] != reference.positions:
        raise ValueError(f"{logits.shape[0]} positions against a reference of "
                         f"{reference.positions}")
    logq = log_softmax(logits)
    ids = reference.ids.astype(np.int64)
    q_top = np.take_along_axis(logq, ids, axis=1)
    q_tail = _log_tail(logq, ids)
    p_top, p_tail = reference.logprobs, reference.log_tail
    kl = (np.exp(p_top) * (p_top - q_top)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        tail = np.exp(p_tail) * (p_tail - q_tail)
    kl = kl + np.where(np.isfinite(p_tail), tail, 0.0)  # 0 · log 0 = 0
    same = logq.argmax(axis=1) == ids[:, 0]
    return kl, same


def summarise(kl: np.ndarray, same: np.ndarray) -> dict[str, float]:
    """Mean and 99th percentile of the KL over positions, and same-top-token %."""
    if kl.size == 0:
        return {"kld_mean": float("nan"), "kld_p99": float("nan"), "same_top": float("nan"),
                "positions": 0}
    return {"kld_mean": float(np.mean(kl)), "kld_p99": float(np.percentile(kl, 99)),
            "same_top": float(100.0 * np.mean(same)), "positions": int(kl.size)}
