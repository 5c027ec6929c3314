"""`workbench plugins`: what is installed, from where, with which hooks, and its state."""

from __future__ import annotations

import argparse
import json


def register(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("plugins", help="list plugins, or enable/disable one")
    listing.add_argument("action", nargs="?", choices=["list", "enable", "disable"],
                         default="list")
    listing.add_argument("name", nargs="?", help="plugin name (for enable/disable)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_plugins)


def cmd_plugins(args: argparse.Namespace) -> int:
    from ..plugins.manager import PluginManager

    manager = PluginManager(safe_mode=args.safe_mode).load()
    if args.action in ("enable", "disable"):
        if not args.name or args.name not in manager.records:
            known = ", ".join(sorted(manager.records))
            raise SystemExit(f"workbench: error: no plugin named '{args.name}' (known: {known})")
        manager.set_enabled(args.name, args.action == "enable")
        print(f"{args.name}: {args.action}d (takes effect the next time the app starts)")
        return 0
    records = list(manager.records.values())
    if args.json:
        print(json.dumps([r.__dict__ for r in records], indent=2))
        return 0
    if args.safe_mode:
        print("Safe mode: no plugins are loaded; built-in features only.")
    width = max(len(r.name) for r in records)
    for record in records:
        hooks = ", ".join(h.replace("register_", "") for h in record.hooks) or "-"
        version = record.version or "-"
        print(f"{record.name:<{width}}  {version:<6}  {record.source:<14}  {record.status:<24}  "
              f"{hooks}")
        if record.error:
            print(f"{'':<{width}}  ! {record.error}")
    return 0
