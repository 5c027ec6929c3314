"""Token inspection on the command line: ``workbench score`` and the per-token output of
``generate --logprobs K`` (registered by model_cmds)."""

from __future__ import annotations

import argparse
import json
import math
import sys

from ..core.errors import WorkbenchError
from ..core.generation import ScoreRequest
from ..core.messages import conversation
from ..core.tokens import MAX_TOP_K, Alternative, AnswerLikelihood, TokenInfo
from .model_options import add_load_options, load_options, model_service


def top_k(value: str) -> int:
    """argparse type for --logprobs / --top-k: 0 to 20 alternatives."""
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number of alternatives") from None
    if not 0 <= k <= MAX_TOP_K:
        raise argparse.ArgumentTypeError(f"{k} alternatives asked for; the inspector reports "
                                         f"0 to {MAX_TOP_K}")
    return k


def register(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser(
        "score", help="how likely an answer is after a prompt: per-token log-probabilities, "
                      "total negative log-likelihood, perplexity")
    score.add_argument("-m", "--model", help="model name or path (default: bundled)")
    score.add_argument("--system", help="system prompt")
    score.add_argument("--prompt", required=True, help="the user's message (or, with --raw, "
                                                       "the whole prompt)")
    score.add_argument("--answer", required=True, help="the answer to score")
    score.add_argument("--raw", action="store_true",
                       help="send --prompt as is, without the chat template")
    score.add_argument("--top-k", type=top_k, default=5,
                       help="alternatives reported per token (0-20, default %(default)s)")
    score.add_argument("--least", type=int, default=5,
                       help="how many of the least likely tokens to list (default %(default)s)")
    add_load_options(score)
    score.add_argument("--json", action="store_true", help="print JSON")
    score.set_defaults(func=cmd_score)


def cmd_score(args: argparse.Namespace) -> int:
    if args.raw and args.system:
        raise WorkbenchError("--system needs the chat template: drop --raw, or write the "
                             "system prompt into --prompt.")
    if args.raw:
        request = ScoreRequest(answer=args.answer, prompt=args.prompt, top_k=args.top_k)
    else:
        request = ScoreRequest(answer=args.answer, top_k=args.top_k,
                               messages=tuple(conversation(args.prompt, args.system)))
    service = model_service(args)
    try:
        if service.is_remote(args.model):
            raise WorkbenchError(f"'workbench score' needs a local model: {args.model} is served "
                                 "elsewhere, and the OpenAI-style API cannot score given text.")
        # One sequence: scoring decodes nothing in parallel.
        options = {**load_options(args), "n_parallel": args.parallel or 1}
        host = service.load_named(args.model, **options)
        result = host.score(request)
        model = host.metadata.path
    finally:
        service.close()
    if args.json:
        print(json.dumps(likelihood_json(result, model, args.least), ensure_ascii=False,
                         indent=2))
        return 0
    print_likelihood(result, args.least)
    return 0


# -- output ------------------------------------------------------------------------------

def piece_json(piece: bytes) -> dict:
    """A piece as text; its bytes too when they are not UTF-8 on their own (part of a
    character), so that nothing is lost."""
    try:
        return {"piece": piece.decode("utf-8")}
    except UnicodeDecodeError:
        return {"piece": piece.decode("utf-8", "replace"), "bytes": list(piece)}


def alternative_json(alternative: Alternative) -> dict:
    return {"id": alternative.token_id, **piece_json(alternative.piece),
            "logprob": alternative.logprob}


def token_json(token: TokenInfo) -> dict:
    data = {"id": token.token_id, **piece_json(token.piece)}
    if token.logprob is not None:
        data["logprob"] = token.logprob
        data["top"] = [alternative_json(a) for a in token.top]
    if token.forced:
        data["forced"] = True
    return data


def likelihood_json(result: AnswerLikelihood, model: str, least: int) -> dict:
    return {
        "model": model, "prompt_tokens": result.prompt_tokens,
        "answer_tokens": len(result.tokens), "total_nll": result.total_nll,
        "mean_nll": result.mean_nll, "perplexity": result.perplexity,
        "tokens": [token_json(t) for t in result.tokens],
        "least_likely": [{"position": i, **token_json(t)}
                         for i, t in result.least_likely(least)],
    }


def print_likelihood(result: AnswerLikelihood, least: int) -> None:
    print(f"total NLL   {result.total_nll:.4f} nats")
    print(f"mean NLL    {result.mean_nll:.4f} nats/token")
    print(f"perplexity  {result.perplexity:.3f}")
    print(f"tokens      {len(result.tokens)} (after a {result.prompt_tokens}-token prompt)")
    print("least likely:")
    for position, token in result.least_likely(least):
        print(f"  {position:>5}  {token.token_id:>7}  {_percent(token.logprob):>7}  "
              f"{token.text!r}  {_alternatives(token)}")


def print_token_table(tokens: list[TokenInfo], out=sys.stdout) -> None:
    """generate --logprobs K without --json: one line a token."""
    for position, token in enumerate(tokens):
        mark = " forced" if token.forced else ""
        print(f"{position:>5}  {token.token_id:>7}  {_percent(token.logprob):>7}  "
              f"{token.text!r}{mark}  {_alternatives(token)}", file=out)


def _percent(logprob: float | None) -> str:
    return "" if logprob is None else f"{100 * math.exp(logprob):.2f}%"


def _alternatives(token: TokenInfo) -> str:
    return " · ".join(f"{a.text!r} {_percent(a.logprob)}" for a in token.top)
