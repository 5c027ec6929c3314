"""`workbench plugin new NAME [--hooks scorer,backend,…]`: a plugin package to start from.

The package has a pyproject with the `workbench` entry point, a module implementing the chosen
hooks (each a small working example with a docstring), tests that call them through the app's
own plugin manager (`workbench.plugins.testing`), and a README. `pip install -e` it and the
next `workbench plugins` or window lists it: no other step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import WorkbenchError
from .plugin_scaffold import PluginNames, hook_names, hooks_for, kind_of, plugin_files

DEFAULT_KINDS = "scorer"


def register(commands: argparse._SubParsersAction) -> None:
    plugin = commands.add_parser("plugin", help="make a new plugin package (plugin new NAME)")
    actions = plugin.add_subparsers(dest="plugin_action", metavar="ACTION", required=True)
    new = actions.add_parser(
        "new", help="write a plugin package to start from",
        description="Write a ready plugin package: pyproject (entry point group `workbench`), "
                    "a module with the chosen hooks, tests, README. "
                    "`pip install -e FOLDER` makes it appear in `workbench plugins`.")
    new.add_argument("name", help="the plugin's name, e.g. my-scorer (package workbench-NAME)")
    new.add_argument("--hooks", default=DEFAULT_KINDS, metavar="KINDS",
                     help="comma-separated hook kinds, or all (default: scorer): "
                          + ", ".join(kind_of(h) for h in hook_names()))
    new.add_argument("--dir", type=Path, default=Path("."),
                     help="the folder to make the package in (default: here)")
    new.set_defaults(func=cmd_plugin_new)


def cmd_plugin_new(args: argparse.Namespace) -> int:
    names = PluginNames.of(args.name)
    hooks = hooks_for(args.hooks)
    target = write_package(args.dir / names.dist, plugin_files(names, hooks))
    print(f"Made {target} — plugin '{names.plugin}' with "
          f"{', '.join(kind_of(h) for h in hooks)}:")
    for path in sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file()):
        print(f"  {path}")
    print("Next:")
    print(f"  pip install -e '{target}[test]'   # `workbench plugins` lists {names.plugin}")
    print(f"  pytest {target / 'tests'}")
    return 0


def write_package(target: Path, files: dict[str, str]) -> Path:
    """Writes ``files`` under ``target``, which must not exist yet (nothing is overwritten)."""
    if target.exists():
        raise WorkbenchError(f"{target} already exists; choose another name or --dir")
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target.resolve()
