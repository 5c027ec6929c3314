"""Log-probabilities from llama.cpp's logits: the chosen token's and the top k.

Always the model's raw distribution at a position (log_softmax of the logits the token was
chosen from), before penalties, truncation or temperature: what the model expected, not what
the sampler was allowed to pick. float32 throughout, as llama.cpp hands the logits out: the
log-sum-exp over a 49k vocabulary then costs ~0.03 ms a token (float64 ~0.3 ms), and its
error (~1e-6) is far below what a reader of the numbers could see.
"""

from __future__ import annotations

import numpy as np


def log_normalizers(rows: np.ndarray) -> np.ndarray:
    """log Σ exp(logits) of each row of a (positions, vocabulary) array."""
    peak = rows.max(axis=-1, keepdims=True)
    return (peak + np.log(np.exp(rows - peak).sum(axis=-1, keepdims=True))).squeeze(-1)


def top_ids(rows: np.ndarray, k: int) -> np.ndarray:
    """The k most likely token ids of each row, best first (ties: the lower id first)."""
    k = min(k, rows.shape[-1])
    best = np.argpartition(rows, -k, axis=-1)[..., -k:]
    chosen = np.take_along_axis(rows, best, axis=-1)
    order = np.lexsort((best, -chosen), axis=-1)
    return np.take_along_axis(best, order, axis=-1)


def token_logprobs(logits: np.ndarray, token: int, k: int) -> tuple[float, list[tuple[int, float]]]:
    """One position: the log-probability of ``token`` and the k best (id, log-probability)."""
    normalizer = float(log_normalizers(logits))
    logprob = float(logits[token]) - normalizer
    if k <= 0:
        return logprob, []
    return logprob, [(int(t), float(logits[t]) - normalizer) for t in top_ids(logits, k)]


def rows_logprobs(rows: np.ndarray, tokens: list[int], k: int
                  ) -> list[tuple[float, list[tuple[int, float]]]]:
    """Many positions at once (scoring): row i is the distribution ``tokens[i]`` came from."""
    normalizers = log_normalizers(rows)
    chosen = rows[np.arange(len(tokens)), tokens] - normalizers
    best = top_ids(rows, k) if k > 0 else np.zeros((len(tokens), 0), dtype=np.int64)
    out = []
    for i in range(len(tokens)):
        top = [(int(t), float(rows[i, t] - normalizers[i])) for t in best[i]]
        out.append((float(chosen[i]), top))
    return out
