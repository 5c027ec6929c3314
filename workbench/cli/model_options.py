"""How a command names and loads a model: the service that opens it, with the plugins started
(they choose the engine of every model), and llama.cpp's load options, shared by the model
commands (model_cmds.py) and the token inspector's (inspect_cmds.py)."""

from __future__ import annotations

import argparse

from ..core.errors import WorkbenchError
from ..core.model_info import CACHE_TYPES, FLASH_ATTN_MODES
from ..services.models import DEFAULT_N_CTX, ModelService
from ..services.plugins import start_plugins


def models_with_plugins(safe_mode: bool, *, prepare: bool = True) -> ModelService:
    """A ModelService whose engines the plugins chose (a local file's: the ``llamacpp``
    backend, the built-in llama.cpp one unless a plugin replaced it; a ``scheme+…``
    reference's: its plugin's), that engine already getting ready (the built-in one boots a
    model host process, which the load adopts). main() makes it first thing for a command
    that loads a model, so the engine's start-up overlaps the command's own imports."""
    service = ModelService()
    start_plugins(service, safe_mode=safe_mode)
    if prepare:  # not for a remote model: no local engine will load it
        service.prepare_engine()
    return service


def model_service(args: argparse.Namespace) -> ModelService:
    """The command's ModelService (the one main() started early, else a new one), checked
    against the model it names: a ``scheme+…`` reference needs a plugin that opens it."""
    service = getattr(args, "early_models", None) or models_with_plugins(args.safe_mode)
    reference = getattr(args, "model", None)
    if looks_like_backend_reference(reference) and not service.is_remote(reference):
        scheme = reference.split("+", 1)[0]
        why = "safe mode loads no plugins" if args.safe_mode else \
            "see 'workbench plugins' for what is installed and enabled"
        raise WorkbenchError(f"No backend '{scheme}' to open {reference}: {why}.")
    return service


def looks_like_backend_reference(reference: str | None) -> bool:
    """``scheme+rest://…``: what a plugin backend opens, never a file name or path."""
    if not reference or "://" not in reference:
        return False
    head = reference.split("://", 1)[0]
    return "+" in head and "/" not in head.split("+", 1)[0]


def add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX, help="context window")
    parser.add_argument("--gpu-layers", type=int, default=None,
                        help="layers to offload (default: all if supported, else 0)")
    parser.add_argument("--threads", "-t", type=int, default=None)
    engine = parser.add_argument_group(
        "engine", "llama.cpp's own flags and defaults; they change the arithmetic and are "
                  "recorded with every output")
    engine.add_argument("--flash-attn", "-fa", choices=FLASH_ATTN_MODES, default=None,
                        help="flash attention (default: auto, as llama.cpp)")
    engine.add_argument("--cache-type-k", "-ctk", choices=CACHE_TYPES, default=None,
                        help="K cache type (default f16)")
    engine.add_argument("--cache-type-v", "-ctv", choices=CACHE_TYPES, default=None,
                        help="V cache type (default f16; quantized needs flash attention)")
    engine.add_argument("--batch-size", "-b", type=int, default=None, help="default 2048")
    engine.add_argument("--ubatch-size", "-ub", type=int, default=None, help="default 512")
    engine.add_argument("--parallel", "-np", type=int, default=None,
                        help="sequences decoded together (default: 4 on the CPU, 8 on a GPU)")


def load_options(args: argparse.Namespace) -> dict:
    return {"n_ctx": args.n_ctx, "n_gpu_layers": args.gpu_layers, "n_threads": args.threads,
            "flash_attn": args.flash_attn, "cache_type_k": args.cache_type_k,
            "cache_type_v": args.cache_type_v, "n_batch": args.batch_size,
            "n_ubatch": args.ubatch_size, "n_parallel": args.parallel}
