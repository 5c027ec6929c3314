"""``workbench docs``: document sets for retrieval — add files, list, search, re-embed.

Sets made here are global (usable from every session) unless ``--session`` names one.
Progress goes to stderr, results to stdout; skipped files are listed with their reasons, and
files added with a warning (pypdf's, for a damaged PDF it could still read) with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from ..core.retrieval import CHUNK_STRATEGIES, SEARCH_MODES, ChunkingSpec
from ..core.wording import counted

DEFAULT_CHUNKING = ChunkingSpec()


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "docs", help="document sets for retrieval: add, list, search, reembed",
        description="Local documents for retrieval (RAG): BM25 over SQLite FTS5 and dense "
                    "vectors from a GGUF embedding model (sqlite-vec), fused by reciprocal "
                    "rank fusion.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    add = verbs.add_parser("add", help="add files and folders to a set (made if new)")
    add.add_argument("set", metavar="SET")
    add.add_argument("paths", metavar="PATH", nargs="+", help="files (txt, md, html, pdf) "
                     "or folders")
    add.add_argument("--chunking", choices=CHUNK_STRATEGIES,
                     help=f"how a new set cuts documents (default {DEFAULT_CHUNKING.strategy}); "
                          "for an existing set, re-chunks it")
    add.add_argument("--size", type=int, metavar="N", help="chunk size in model tokens "
                     f"(default {DEFAULT_CHUNKING.size})")
    add.add_argument("--overlap", type=int, metavar="N", help="tokens shared by neighbouring "
                     f"chunks (default {DEFAULT_CHUNKING.overlap})")
    add.add_argument("--embed-model", metavar="M", help="embed the chunks with this model "
                     "(library name or path; default: the set's model, else 'bundled', the "
                     "bundled model)")
    add.add_argument("--no-embed", action="store_true", help="BM25 only: make no vectors")
    add.add_argument("--session", metavar="ID", help="the set belongs to this session")
    add.set_defaults(func=cmd_add)

    listing = verbs.add_parser("list", help="list the sets, or one set's documents")
    listing.add_argument("set", metavar="SET", nargs="?")
    listing.add_argument("--session", metavar="ID")
    listing.set_defaults(func=cmd_list)

    search = verbs.add_parser("search", help="search a set")
    search.add_argument("set", metavar="SET")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--mode", choices=SEARCH_MODES, default="hybrid")
    search.add_argument("-k", type=int, default=5, metavar="N", help="hits (default 5)")
    search.add_argument("--score-floor", type=float, metavar="S", help="drop hits below S")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    search.add_argument("--session", metavar="ID")
    search.set_defaults(func=cmd_search)

    reembed = verbs.add_parser("reembed", help="embed a set's chunks with another model")
    reembed.add_argument("set", metavar="SET")
    reembed.add_argument("--model", required=True, metavar="M",
                         help="library name or path of a GGUF model ('bundled' for the "
                              "bundled one)")
    reembed.add_argument("--session", metavar="ID")
    reembed.set_defaults(func=cmd_reembed)


class _Service:
    """The store, the models (with the plugins' backends, as every command has them) and the
    retrieval service for one command, closed after."""

    def __init__(self, args: argparse.Namespace):
        self.safe_mode = args.safe_mode

    def __enter__(self):
        from ..services.models import ModelService
        from ..services.plugins import start_plugins
        from ..services.retrieval.service import RetrievalService
        from ..services.sessions import open_store

        self.store = open_store()
        self.models = ModelService(store=self.store)
        start_plugins(self.models, safe_mode=self.safe_mode)  # an engine plugin embeds too
        return RetrievalService(self.store, self.models)

    def __exit__(self, *exc):
        self.models.close()
        self.store.close()


def _progress_lines():
    """A watcher that prints the job's progress on stderr: each new step, and every 10%."""
    from ..core.job_state import JobWatcher

    last = {"message": None, "percent": -1}

    def progress(p) -> None:
        percent = int(100 * p.fraction) if p.fraction is not None else 0
        if p.message != last["message"] or percent >= last["percent"] + 10:
            last.update(message=p.message, percent=percent)
            print(f"  {p.message} {percent}%", file=sys.stderr)

    return JobWatcher(on_progress=progress)


def _finish(job, *, report: bool = True) -> int:
    """Wait for the job (Ctrl-C cancels it: what was done is kept) and say what it did."""
    from ..core.job_state import CANCELLED
    from .job_wait import INTERRUPTED, wait_for

    wait_for(job, f"{job.title}: cancelling…")
    if report:
        _print_report(job.outcome)
    if job.status == CANCELLED:
        doing = job.title[:1].lower() + job.title[1:]  # "adding to SET"
        print(f"workbench: {doing} was cancelled; what was done is kept.", file=sys.stderr)
        return INTERRUPTED
    return 0


def _print_report(report) -> None:
    for problem in report.skipped:
        print(f"skipped {problem.path}: {problem.reason}", file=sys.stderr)
    for notice in report.notices:  # added, with what its reader warned of (a damaged PDF)
        print(f"notice {notice.path}: {notice.reason}", file=sys.stderr)
    print(report.summary())


def cmd_add(args: argparse.Namespace) -> int:
    with _Service(args) as service:
        given = {k: v for k, v in (("strategy", args.chunking), ("size", args.size),
                                   ("overlap", args.overlap)) if v is not None}
        # The session's own set of that name before a global one, as get_set picks.
        doc_set = next((s for s in service.sets(args.session) if s.name == args.set), None)
        if doc_set is None:
            doc_set = service.create_set(args.set, args.session, replace(DEFAULT_CHUNKING, **given))
        elif replace(doc_set.chunking, **given) != doc_set.chunking:
            code = _finish(service.start_set_chunking(
                args.set, replace(doc_set.chunking, **given), session_id=args.session,
                watcher=_progress_lines()), report=False)
            if code:
                return code
        model = args.embed_model
        if model is None and not args.no_embed and doc_set.embedding is None:
            model = "bundled"  # dense and hybrid search work out of the box
        return _finish(service.start_add(args.set, args.paths, embed_model=model,
                                         session_id=args.session, watcher=_progress_lines()))


def cmd_list(args: argparse.Namespace) -> int:
    with _Service(args) as service:
        if args.set is None:
            for doc_set in service.sets(args.session):
                documents = service.documents(doc_set.id)
                space = (f"{doc_set.embedding.model_name} ({doc_set.embedding.dim}-d, "
                         f"{doc_set.embedding.pooling})" if doc_set.embedding else "not embedded")
                print(f"{doc_set.name}\t{counted(len(documents), 'document')}, "
                      f"{counted(sum(d.chunks for d in documents), 'chunk')}\t"
                      f"{doc_set.chunking.describe()}\t{space}")
            return 0
        for document in service.documents(args.set, args.session):
            print(f"{document.path}\t{counted(document.chunks, 'chunk')}\t{document.size} bytes\t"
                  f"{document.sha256[:12]}")
        return 0


def cmd_search(args: argparse.Namespace) -> int:
    with _Service(args) as service:
        hits = service.search(args.set, args.query, mode=args.mode, k=args.k,
                              score_floor=args.score_floor, session_id=args.session)
        if args.json:
            print(json.dumps([h.to_dict() for h in hits], indent=2, ensure_ascii=False))
            return 0
        for hit in hits:
            snippet = " ".join(hit.text.split())
            print(f"{hit.rank}. {hit.score:.4f}  {hit.source} #{hit.position}\n   "
                  f"{snippet[:200]}")
        if not hits:
            print("no hits", file=sys.stderr)
        return 0


def cmd_reembed(args: argparse.Namespace) -> int:
    with _Service(args) as service:
        return _finish(service.start_reembed(args.set, args.model, session_id=args.session,
                                             watcher=_progress_lines()))
