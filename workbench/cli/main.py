"""``workbench`` on the command line. With no command it opens the GUI.

Every command goes through the same services as the GUI. Expected failures print one line to
stderr and exit non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..core.errors import WorkbenchError

HELP_FLAGS = {"-h", "--help"}
LOADS_A_MODEL = {"generate", "tokenize", "info", "score"}


def build_parser(gui_only: bool = False) -> argparse.ArgumentParser:
    """The full parser, or (``gui_only``) one that knows only what opening the GUI takes:
    the other commands import their services (the store, tuning, the Hub) at registration,
    and the window should not wait for modules it may import later or never."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Prompt Workbench: prompts, comparisons and LoRA tuning on local GGUF models.",
    )
    parser.add_argument("--safe-mode", action="store_true", help="load no plugins")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = commands.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("-m", "--model", help="model name or path to load (default: bundled)")
    gui.set_defaults(func=run_gui)
    if gui_only:
        return parser
    from . import model_cmds

    model_cmds.register(commands)
    for register in _optional_commands():
        register(commands)
    return parser


def opens_gui(argv: Sequence[str]) -> bool:
    """True when ``argv`` names no command but ``gui`` and asks for no help: the only
    top-level option takes no value, so the first word that is not an option is the command."""
    if HELP_FLAGS & set(argv):
        return False
    words = [arg for arg in argv if not arg.startswith("-")]
    return not words or words[0] == "gui"


def _optional_commands():
    """Command groups that live beside this module; each exposes ``register(subparsers)``."""
    from . import (
        docs_cmd,
        doctor_cmd,
        eval_cmd,
        experiment_cmd,
        improve_cmd,
        library_cmds,
        plugin_new,
        plugins_cmd,
        quantlab_cmd,
        sessions_cmd,
        tune_cmd,
    )

    return [sessions_cmd.register, library_cmds.register, plugins_cmd.register, tune_cmd.register,
            doctor_cmd.register, eval_cmd.register, docs_cmd.register, experiment_cmd.register,
            quantlab_cmd.register, plugin_new.register, improve_cmd.register]


def run_gui(args: argparse.Namespace) -> int:
    from ..services.doctor_checks import gui_start_problem

    problem = gui_start_problem()  # Qt would abort the process with a page of diagnostics
    if problem:
        raise WorkbenchError(problem)
    from ..ui.preload import ModelPreload

    # Before the GUI's imports: the model host starts while they run (ui/preload.py).
    model = getattr(args, "model", None)
    preload = ModelPreload.start(model, safe_mode=args.safe_mode)
    from ..ui.app import run_app

    return run_app(model=model, safe_mode=args.safe_mode, preload=preload)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    words = [arg for arg in argv if not arg.startswith("-")]
    early_models = None
    if words and words[0] in LOADS_A_MODEL and not HELP_FLAGS & set(argv):
        # The plugins choose the engine first; it gets ready (the built-in one boots a model
        # host: Python, llama.cpp) while this process imports and checks.
        from .model_options import models_with_plugins

        remote = any("+" in arg and "://" in arg for arg in argv)  # a plugin backend's model
        early_models = models_with_plugins("--safe-mode" in argv, prepare=not remote)
    parser = build_parser(gui_only=opens_gui(argv))
    args = parser.parse_args(argv)
    args.early_models = early_models
    func = getattr(args, "func", run_gui)
    try:
        return int(func(args) or 0)
    except WorkbenchError as error:
        print_error(error)
        return 1
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


def print_error(error: BaseException) -> None:
    lines = str(error).strip().splitlines() or [type(error).__name__]
    print(f"workbench: error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:  # e.g. the last lines of a crashed model's log
        print(f"  {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
