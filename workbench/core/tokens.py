"""Tokens as the model saw them: exact bytes, the chosen token's log-probability and the top
alternatives at each position; the likelihood of an answer; where two outputs part ways.

Pure data (the token inspector's contract between engine, store, services and window). A
token's ``piece`` is its exact bytes: joining the pieces of an output gives back the output's
UTF-8 bytes, also where one character spans several tokens (emoji, CJK).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

MAX_TOP_K = 20


@dataclass(frozen=True)
class Alternative:
    token_id: int
    piece: bytes
    logprob: float

    @property
    def text(self) -> str:
        return self.piece.decode("utf-8", "replace")


@dataclass(frozen=True)
class TokenInfo:
    """One position: the token there, its log-probability under the model (None when not
    captured) and the k most likely tokens at that position, best first."""

    token_id: int
    piece: bytes
    logprob: float | None = None
    top: tuple[Alternative, ...] = ()
    forced: bool = False  # put there by the user (a branch), not sampled

    @property
    def text(self) -> str:
        return self.piece.decode("utf-8", "replace")

    @property
    def probability(self) -> float | None:
        return None if self.logprob is None else math.exp(self.logprob)


@dataclass(frozen=True)
class TokenTrace:
    """An output's tokens, in order."""

    tokens: tuple[TokenInfo, ...] = ()

    @property
    def data(self) -> bytes:
        return b"".join(t.piece for t in self.tokens)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(t.token_id for t in self.tokens)

    def pack(self) -> bytes:
        """Compact, exact storage: per token its id, log-probability (float32; NaN = not
        captured), flags, piece and alternatives. ~10 bytes a token without alternatives."""
        out = [struct.pack("<BI", 1, len(self.tokens))]
        for token in self.tokens:
            logprob = math.nan if token.logprob is None else token.logprob
            out.append(struct.pack("<IfBBH", token.token_id, logprob, int(token.forced),
                                   len(token.top), len(token.piece)))
            out.append(token.piece)
            for alt in token.top:
                out.append(struct.pack("<IfH", alt.token_id, alt.logprob, len(alt.piece)))
                out.append(alt.piece)
        return b"".join(out)

    @classmethod
    def unpack(cls, data: bytes) -> TokenTrace:
        version, count = struct.unpack_from("<BI", data, 0)
        if version != 1:
            raise ValueError(f"token trace format {version} is newer than this app")
        offset = struct.calcsize("<BI")
        tokens = []
        for _ in range(count):
            token_id, logprob, forced, n_top, size = struct.unpack_from("<IfBBH", data, offset)
            offset += struct.calcsize("<IfBBH")
            piece = data[offset:offset + size]
            offset += size
            top = []
            for _ in range(n_top):
                alt_id, alt_logprob, alt_size = struct.unpack_from("<IfH", data, offset)
                offset += struct.calcsize("<IfH")
                top.append(Alternative(alt_id, data[offset:offset + alt_size], alt_logprob))
                offset += alt_size
            tokens.append(TokenInfo(token_id, piece, None if math.isnan(logprob) else logprob,
                                    tuple(top), bool(forced)))
        return cls(tuple(tokens))


@dataclass(frozen=True)
class AnswerLikelihood:
    """An answer's tokens scored under a prompt (teacher forcing, lm-eval's loglikelihood):
    each token's log-probability given the prompt and the answer's tokens before it."""

    tokens: tuple[TokenInfo, ...]
    prompt_tokens: int

    @property
    def total_nll(self) -> float:
        return -sum(t.logprob or 0.0 for t in self.tokens)

    @property
    def mean_nll(self) -> float:
        return self.total_nll / len(self.tokens) if self.tokens else 0.0

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll)

    def least_likely(self, n: int = 5) -> list[tuple[int, TokenInfo]]:
        """(position, token) of the n tokens the model expected least, least likely first."""
        ranked = sorted(enumerate(self.tokens), key=lambda item: item[1].logprob or 0.0)
        return ranked[:n]


@dataclass(frozen=True)
class Divergence:
    """Where two outputs of the same case part ways, token by token."""

    shared: int  # tokens both outputs start with
    position: int | None  # the first position where they differ; None: identical
    a: TokenInfo | None  # output A's token there (None: A ended)
    b: TokenInfo | None
    same_tokenizer: bool
    note: str = ""  # e.g. why the comparison is by characters (different tokenizers)
