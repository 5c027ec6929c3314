"""Library commands: hub search, hub files, pull, add, remove, fit."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from ..core.model_info import human_bytes

if TYPE_CHECKING:  # the services import the store and the Hub client: only when used
    from ..core.job_state import JobProgress
    from ..services.library import LibraryService


def register(commands: argparse._SubParsersAction) -> None:
    hub = commands.add_parser("hub", help="search the Hugging Face Hub for GGUF models")
    hub_commands = hub.add_subparsers(dest="hub_command", metavar="HUB_COMMAND", required=True)
    search = hub_commands.add_parser("search", help="find GGUF repositories")
    search.add_argument("text", metavar="TEXT")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(func=cmd_hub_search)
    files = hub_commands.add_parser("files", help="list a repository's GGUF files by quantization")
    files.add_argument("repo", metavar="REPO")
    files.add_argument("--revision")
    files.add_argument("--json", action="store_true", help="print JSON")
    files.set_defaults(func=cmd_hub_files)

    pull = commands.add_parser("pull", help="download a GGUF file (verified) into the library")
    pull.add_argument("repo", metavar="REPO")
    pull.add_argument("file", metavar="FILE", help="file name (the first part of a split model)")
    pull.add_argument("--revision")
    pull.set_defaults(func=cmd_pull)

    add = commands.add_parser("add", help="add a .gguf file, or watch a folder of them")
    add.add_argument("path", metavar="PATH")
    add.set_defaults(func=cmd_add)

    remove = commands.add_parser("remove", help="remove a model from the library")
    remove.add_argument("model", metavar="MODEL")
    remove.add_argument("--delete", action="store_true", help="also delete the file from disk")
    remove.set_defaults(func=cmd_remove)

    fit = commands.add_parser("fit", help="memory estimate and recommended n_gpu_layers")
    fit.add_argument("model", metavar="MODEL", nargs="?")
    fit.add_argument("--n-ctx", type=int, default=4096)
    fit.add_argument("--parallel", "-np", type=int, default=None,
                     help="sequences decoded together, each with its own n_ctx of KV cache "
                          "(default: 4 on the CPU, 8 with offload)")
    fit.add_argument("--free-vram", type=float, default=None, metavar="GIB",
                     help="plan for a GPU with this much free VRAM (GiB) instead of this "
                          "machine's; prints the GPU layers and parallel sequences auto picks")
    fit.set_defaults(func=cmd_fit)


def cmd_hub_search(args: argparse.Namespace) -> int:
    with _service() as library:
        found = library.search(args.text, limit=args.limit)
    if args.json:
        print(json.dumps([{"id": r.id, "downloads": r.downloads, "likes": r.likes,
                           "last_modified": r.last_modified.isoformat() if r.last_modified else None,
                           "gated": r.gated} for r in found], indent=2))
        return 0
    if not found:
        print(f"No GGUF repositories match '{args.text}'.")
        return 0
    width = max(len(r.id) for r in found)
    for r in found:
        date = r.last_modified.date().isoformat() if r.last_modified else "-"
        gated = "  gated" if r.gated else ""
        print(f"{r.id:<{width}}  {r.downloads:>11,} downloads  {r.likes:>6,} likes  {date}{gated}")
    return 0


def cmd_hub_files(args: argparse.Namespace) -> int:
    with _service() as library:
        files = library.repo_files(args.repo, args.revision)
    groups = files.by_quantization()
    if args.json:
        print(json.dumps({quant: [{"file": f.filename, "parts": list(f.parts), "size": f.size,
                                   "sha256": f.sha256} for f in models]
                          for quant, models in groups.items()}, indent=2))
        return 0
    print(f"{files.repo} @ {files.revision[:12]}{'  (gated)' if files.gated else ''}")
    for quant, models in groups.items():
        print(quant)
        for f in models:
            parts = f"  ({len(f.parts)} parts)" if len(f.parts) > 1 else ""
            print(f"  {f.filename}{parts}  {human_bytes(f.size)}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from ..core.errors import WorkbenchError
    from ..core.job_state import CANCELLED, FAILED, JobWatcher

    bar = TerminalBar()
    with _service() as library:
        job = library.start_pull(args.repo, args.file, revision=args.revision,
                                 watcher=JobWatcher(on_progress=bar.show))
        try:
            job.wait()
        except KeyboardInterrupt:  # Ctrl-C: the download stops at its next chunk
            job.cancel()
            job.wait()
    bar.finish()
    if job.status == CANCELLED:
        print(f"workbench: the download of {args.file} was cancelled; the bytes received so "
              "far are kept, so pulling it again resumes.", file=sys.stderr)
        return 130  # as any command Ctrl-C stops (cli/main.py)
    if job.status == FAILED:
        raise WorkbenchError(job.error or "The download failed.")
    print(f"{job.outcome.name}  {job.outcome.path}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.path).expanduser()
    with _service() as library:
        if path.is_dir():
            folder = library.watch_folder(path)
            found = [m for m in library.models(with_metadata=False)
                     if m.path.is_relative_to(folder)]
            print(f"Watching {folder}: {len(found)} model(s) found.")
            for m in found:
                print(f"  {m.name}  {m.path}")
            return 0
        model = library.add_file(path)
    info = model.info
    print(f"Added {model.name}: {info.architecture}, {info.quantization}, "
          f"{human_bytes(info.file_size)}  {model.path}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from ..core.errors import ModelNotFoundError

    with _service() as library:
        wanted = args.model.lower()
        matches = [m for m in library.known() if m.name.lower() == wanted]
        if not matches:
            raise ModelNotFoundError(f"No model named '{args.model}' in the library.")
        library.remove(matches[0], delete_file=args.delete)
    print(f"Removed {matches[0].name}" + (" and deleted its file." if args.delete else "."))
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from dataclasses import replace

    with _service() as library:
        memory = library.memory()
        offload = None
        if args.free_vram is not None:  # a card planned for: offload as a GPU build would
            vram = int(args.free_vram * 1024 ** 3)
            memory, offload = replace(memory, free_vram=vram, gpu="planned GPU"), True
        estimate = library.fit(args.model, args.n_ctx, memory=memory, offload_supported=offload,
                               n_parallel=args.parallel)
    print(estimate.summary())
    for note in estimate.notes:  # with offload and no --parallel, the last says auto's choice
        print(f"  note: {note}")
    return 0


class _service:
    def __enter__(self) -> LibraryService:
        from ..services.library import LibraryService

        self.library = LibraryService()
        return self.library

    def __exit__(self, *_exc):
        self.library.close()
        return False


class TerminalBar:
    """``[#####-----]  45%  44.2 MiB / 93.8 MiB  downloading · 120.3 MiB/s · 00:03 left`` on
    stderr, from the download job's progress."""

    WIDTH = 28

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()
        self._last_step = -1
        self._shown = False

    def show(self, progress: JobProgress) -> None:
        fraction = progress.fraction or 0.0
        step = int(fraction * 4)
        downloading = progress.message.startswith("downloading")
        if not self.tty and step == self._last_step and downloading:
            return  # a log file gets a line per quarter, not a flood
        self._last_step = step
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = (f"[{bar}] {fraction:4.0%}  {human_bytes(int(progress.done))} / "
                f"{human_bytes(int(progress.total))}  {progress.message}")
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
