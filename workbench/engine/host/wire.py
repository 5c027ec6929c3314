"""The model host's wire format: one JSON object per line over the child's stdin/stdout.

Parent → child: ``{"id": N, "op": "...", ...}``.
Child → parent: ``{"id": N, "type": "result" | "error" | "token" | "done" | "progress", ...}``
(``progress``: how far a ``load`` has read the weights, before its result; loading.py).
JSON lines keep the protocol debuggable by hand (``python -m workbench.engine.host``).

A token's exact bytes travel as base64 (a piece may be half a UTF-8 character); a token with
its alternatives as ``{"id", "piece", "logprob", "top": [[id, piece, logprob], …]}``.
"""

from __future__ import annotations

import base64
import json
from typing import Any, BinaryIO

from ...core.generation import ScoreRequest
from ...core.messages import ChatMessage
from ...core.model_info import AdapterSpec
from ...core.tokens import Alternative, AnswerLikelihood, TokenInfo

OPS = ("log", "load", "tokenize", "detokenize", "pieces", "render", "generate", "score",
       "cancel", "ping", "shutdown")


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    return json.loads(line)


def send(stream: BinaryIO, message: dict[str, Any]) -> None:
    stream.write(encode(message))
    stream.flush()


# -- tokens ------------------------------------------------------------------------------

def pack_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unpack_bytes(text: str) -> bytes:
    return base64.b64decode(text)


def alternatives_to_wire(alternatives) -> list[list]:
    return [[a.token_id, pack_bytes(a.piece), a.logprob] for a in alternatives]


def alternatives_from_wire(data) -> tuple[Alternative, ...]:
    return tuple(Alternative(int(i), unpack_bytes(p), float(lp)) for i, p, lp in data or ())


def token_to_wire(token: TokenInfo) -> dict[str, Any]:
    return {"id": token.token_id, "piece": pack_bytes(token.piece), "logprob": token.logprob,
            "top": alternatives_to_wire(token.top)}


def token_from_wire(data: dict[str, Any]) -> TokenInfo:
    return TokenInfo(int(data["id"]), unpack_bytes(data["piece"]), data.get("logprob"),
                     alternatives_from_wire(data.get("top")))


def likelihood_to_wire(result: AnswerLikelihood) -> dict[str, Any]:
    return {"tokens": [token_to_wire(t) for t in result.tokens],
            "prompt_tokens": result.prompt_tokens}


def likelihood_from_wire(data: dict[str, Any]) -> AnswerLikelihood:
    return AnswerLikelihood(tuple(token_from_wire(t) for t in data["tokens"]),
                            int(data["prompt_tokens"]))


def score_request_to_wire(request: ScoreRequest) -> dict[str, Any]:
    return {"answer": request.answer, "messages": [m.to_dict() for m in request.messages],
            "prompt": request.prompt, "top_k": request.top_k,
            "adapters": None if request.adapters is None else [
                {"path": a.path, "scale": a.scale} for a in request.adapters]}


def score_request_from_wire(data: dict[str, Any]) -> ScoreRequest:
    return ScoreRequest(
        answer=data["answer"],
        messages=tuple(ChatMessage.from_dict(m) for m in data.get("messages") or ()),
        prompt=data.get("prompt"), top_k=int(data.get("top_k") or 0),
        adapters=None if data.get("adapters") is None else tuple(
            AdapterSpec(**a) for a in data["adapters"]))
