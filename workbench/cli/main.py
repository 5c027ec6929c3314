"""``workbench`` on the command line. With no command it opens the GUI.

Every command goes through the same services as the GUI. Expected failures print one line to
stderr and exit non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..core.errors import WorkbenchError
from . import model_cmds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Prompt Workbench: prompts, comparisons and LoRA tuning on local GGUF models.",
    )
    parser.add_argument("--safe-mode", action="store_true", help="load no plugins")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = commands.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("-m", "--model", help="model name or path to load (default: bundled)")
    gui.set_defaults(func=run_gui)
    model_cmds.register(commands)
    for register in _optional_commands():
        register(commands)
    return parser


def _optional_commands():
    """Command groups that live beside this module; each exposes ``register(subparsers)``."""
    from . import library_cmds, plugins_cmd, sessions_cmd, tune_cmd

    return [sessions_cmd.register, library_cmds.register, plugins_cmd.register, tune_cmd.register]


def run_gui(args: argparse.Namespace) -> int:
    from ..ui.app import run_app

    return run_app(model=getattr(args, "model", None), safe_mode=args.safe_mode)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
