"""Session commands: sessions, export, import, search."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store: only when a sessions command runs
    from ..services.sessions import SessionService


def register(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("sessions", help="list stored sessions")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_sessions)

    export = commands.add_parser("export", help="write a session to one portable file")
    export.add_argument("session", metavar="SESSION", help="session name or id")
    export.add_argument("file", metavar="FILE", help="target file (.json, or .json.gz)")
    export.set_defaults(func=cmd_export)

    importer = commands.add_parser("import", help="read a session exported by `export`")
    importer.add_argument("file", metavar="FILE")
    importer.set_defaults(func=cmd_import)

    search = commands.add_parser("search", help="full-text search of prompts and outputs")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--session", help="only this session (name or id)")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(func=cmd_search)


def _service() -> SessionService:
    from ..services.sessions import SessionService

    service = SessionService()
    for notice in service.notices:
        print(f"workbench: note: {notice}", file=sys.stderr)
    return service


def cmd_sessions(args: argparse.Namespace) -> int:
    service = _service()
    try:
        summaries = service.summaries()
        unfinished = service.unfinished_runs()
    finally:
        service.close()
    if args.json:
        print(json.dumps([{"id": s.session.id, "name": s.session.name,
                           "updated_at": s.session.updated_at.isoformat(),
                           "prompt_versions": s.prompt_versions, "runs": s.runs,
                           "outputs": s.outputs,
                           "unfinished_runs": [
                               {"id": run.id, "status": run.status.value,
                                "cells_done": progress.done, "cells": progress.total}
                               for run, progress in unfinished.get(s.session.id, [])]}
                          for s in summaries], indent=2))
        return 0
    if not summaries:
        print("No sessions yet.")
        return 0
    width = max(len(s.session.name) for s in summaries)
    for s in summaries:
        print(f"{s.session.id[:8]}  {s.session.name:<{width}}  "
              f"{s.session.updated_at:%Y-%m-%d %H:%M}  {s.prompt_versions} versions, "
              f"{s.runs} runs, {s.outputs} outputs")
        for run, progress in unfinished.get(s.session.id, []):
            print(f"    run {run.id[:8]} {run.status.value} ({progress}): "
                  f"workbench eval --resume {run.id[:8]}, or Resume in the app")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    service = _service()
    try:
        counts = service.export(args.session, args.file)
    finally:
        service.close()
    print(f"Exported to {args.file}: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    service = _service()
    try:
        result = service.import_file(args.file)
    finally:
        service.close()
    if result.total_added == 0:
        print(f"Nothing new: everything in {args.file} is already here.")
    else:
        print(f"Imported session {result.session_id[:8]}: "
              + ", ".join(f"{n} {k}" for k, n in result.added.items() if n))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    service = _service()
    try:
        hits = service.search(args.query, session=args.session, limit=args.limit)
    finally:
        service.close()
    if args.json:
        print(json.dumps([hit.__dict__ for hit in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print(f"No matches for {args.query!r}.")
        return 0
    for hit in hits:
        kind = "prompt" if hit.kind == "prompt_version" else "output"
        snippet = " ".join(hit.snippet.split())
        print(f"{kind:<6}  {hit.ref[:8]}  {hit.title}: {snippet}")
    return 0
