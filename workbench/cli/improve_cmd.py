"""``workbench improve SUITE.yaml|--session NAME``: search for a better prompt and prove it on
held-out cases.

Exit codes: 0 a significant improvement was found (p < 0.05 on the held-out cases), 100 none
was, 1 on errors (a bad suite, a missing model, cells that failed to generate). Every
candidate is stored as a prompt version of the session, so the search opens in the app.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.atomic_file import write_text_atomically
from .job_wait import INTERRUPTED, wait_for
from .shipped import shipped_or_path

CHANGES = ("instruction", "examples", "temperature", "system", "format")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "improve", help="search for a better prompt against a suite's checks, proven on "
                        "held-out cases",
        description="Split the cases (seeded, stratified) into training and held-out, search "
                    "instruction rewrites, few-shot examples and settings on the training "
                    "cases, then compare the best with the start on the held-out cases. "
                    "Exit 0 when the winner is significantly better (p < 0.05), 100 when not, "
                    "1 on errors.")
    parser.add_argument("suite", metavar="SUITE.yaml", nargs="?",
                        help="a suite file (its first prompt is the start), or a shipped one: "
                             "improve-sentiment")
    parser.add_argument("--session", metavar="NAME",
                        help="improve a session's prompt on its cases instead of a suite")
    parser.add_argument("--resume", nargs="?", const="", metavar="JOB",
                        help="go on with an interrupted, cancelled or failed job (its id or first "
                             "characters; without JOB, the newest)")
    parser.add_argument("--target", metavar="MODEL",
                        help="the model being improved (default: the suite's first provider, "
                             "or the session's first variant)")
    parser.add_argument("--proposer", metavar="MODEL",
                        help="the model that writes instruction rewrites (default: the target)")
    parser.add_argument("--budget", type=int, default=400, metavar="N",
                        help="target-model calls in all, the held-out comparison included "
                             "(default 400)")
    parser.add_argument("--minutes", type=float, metavar="M",
                        help="stop searching after M minutes of work")
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    parser.add_argument("--allow", default="instruction,examples", metavar="WHAT",
                        help="what may change, comma-separated: " + ", ".join(CHANGES)
                             + " (default: instruction,examples)")
    parser.add_argument("--held-out", type=float, default=0.4, metavar="F",
                        help="fraction of the cases held out (default 0.4)")
    parser.add_argument("--max-tokens", type=int, metavar="N",
                        help="most tokens per answer of the target")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="requests in flight at once to a remote target or proposer")
    parser.add_argument("--json", dest="json_file", metavar="FILE",
                        help="write the outcome as JSON (split, candidates, evidence, spent)")
    parser.add_argument("--out", dest="report_file", metavar="report.html|md",
                        help="write a report (HTML, or Markdown with its plot beside it)")
    parser.set_defaults(func=cmd_improve)


def cmd_improve(args: argparse.Namespace) -> int:
    from ..core.errors import WorkbenchError
    from ..core.job_state import CANCELLED, JobWatcher
    from ..services.compare import RunService
    from ..services.evaluation.eval_service import EvalService
    from ..services.improve.job import ImproveService
    from ..services.models import ModelService
    from ..services.plugins import start_plugins
    from ..services.sessions import open_store

    if sum(bool(x) for x in (args.suite, args.session)) + (args.resume is not None) != 1:
        raise WorkbenchError("Name one of: a suite file, --session NAME, or --resume [JOB].")
    for stale in (args.json_file, args.report_file):
        if stale:
            Path(stale).unlink(missing_ok=True)
    store = open_store()
    models = ModelService(store=store)
    plugins = start_plugins(models, safe_mode=args.safe_mode)
    evaluation = EvalService(store, models, RunService(store, models, plugins), plugins)
    service = ImproveService(evaluation)
    progress = ProgressLine()
    watcher = JobWatcher(on_progress=progress)
    try:
        if args.resume is not None:
            record = service.to_resume(args.resume or None)
            print(f"Resuming improve job {record.id[:8]}.", file=sys.stderr)
        else:
            request = _request(args, store, evaluation)
            note = service.resumable(request.session_id)
            if note:
                print(f"workbench: note: improve job {note[0].id[:8]} was {note[0].status}; "
                      f"`workbench improve --resume {note[0].id[:8]}` goes on with it.",
                      file=sys.stderr)
            record = service.create(request)
            print(f"Improve job {record.id[:8]}: {len(record.split['training'])} training, "
                  f"{len(record.split['held_out'])} held-out cases.", file=sys.stderr)
        job = _work_on(service, record.id, watcher)
        progress.finish()
        outcome = job.outcome
        if outcome is None:
            if job.status == CANCELLED:
                print(f"workbench: cancelled before anything was scored; `workbench improve "
                      f"--resume {record.id[:8]}` starts it again.", file=sys.stderr)
                return INTERRUPTED
            raise WorkbenchError("The job was stopped before it scored anything.")
        for line in outcome_lines(outcome):
            print(line)
        if args.json_file:
            write_text_atomically(Path(args.json_file), json.dumps(
                outcome_json(store, outcome), indent=2, ensure_ascii=False))
        if args.report_file:
            from ..services.improve.report import build_report

            build_report(store, outcome).write(Path(args.report_file))
        if outcome.evidence is None:
            print(f"workbench: the job was {outcome.status}; `workbench improve --resume "
                  f"{outcome.job.id[:8]}` goes on with it.", file=sys.stderr)
            return INTERRUPTED if job.status == CANCELLED else 1
        return outcome.exit_code()
    except WorkbenchError:
        progress.finish()
        raise
    finally:
        models.close()
        store.close()


def _work_on(service, job_id: str, watcher):
    """The job worked on to its end; a failure says how to go on once its cause is fixed
    (a failed job resumes: the spoiled evaluation runs again, nothing scored is lost)."""
    from ..core.errors import WorkbenchError

    try:
        return wait_for(service.start_work(job_id, watcher),
                        "improve: cancelling: the cells running stop, the job is kept")
    except WorkbenchError as error:
        raise WorkbenchError(f"{error}\nOnce that is fixed, `workbench improve --resume "
                             f"{job_id[:8]}` goes on with the job.") from None


def _request(args: argparse.Namespace, store, evaluation):
    from ..core.errors import WorkbenchError
    from ..services.improve.request import AllowedChanges, ImproveRequest

    allowed = [word.strip() for word in args.allow.split(",") if word.strip()]
    unknown = [word for word in allowed if word not in CHANGES]
    if unknown:
        raise WorkbenchError(f"--allow: unknown {', '.join(unknown)} (known: "
                             f"{', '.join(CHANGES)}).")
    changes = AllowedChanges(instruction="instruction" in allowed,
                             examples="examples" in allowed,
                             temperature="temperature" in allowed,
                             system_prompt="system" in allowed, format_line="format" in allowed)
    if args.suite:
        session_id, version_id, model, sampling = _from_suite(args, store, evaluation)
    else:
        session_id, version_id, model, sampling = _from_session(args, store)
    if args.max_tokens is not None:
        sampling = sampling.with_sent(max_tokens=args.max_tokens)
    return ImproveRequest(session_id=session_id, version_id=version_id, target_model=model,
                          target_sampling=sampling, proposer_model=args.proposer,
                          budget_generations=args.budget, budget_minutes=args.minutes,
                          seed=args.seed, allowed=changes, held_out_fraction=args.held_out,
                          concurrency=args.concurrency).validate()


def _from_suite(args, store, evaluation):
    """The suite stored as a session (named ``improve: …``): its first prompt is the start,
    its first provider (or --target) the target."""
    from dataclasses import replace

    from ..services.evaluation.preflight import check_file, preflight_for
    from ..services.evaluation.suite_session import providers_for, sampling_of, store_suite

    path = shipped_or_path(args.suite, "SUITES", ".yaml")
    models = [args.target] if args.target else None
    suite = check_file(path, preflight_for(evaluation), models=models)
    providers = providers_for(suite, models)
    held = store_suite(store, replace(suite, providers=tuple(providers[:1])),
                       yaml_text=path.read_text(encoding="utf-8"))
    store.sessions.rename(held.session.id, f"improve: {held.stored.name}")
    return held.session.id, held.versions[0].id, providers[0].id, sampling_of(providers[0])


def _from_session(args, store):
    from ..core.errors import WorkbenchError
    from ..core.sampling import SamplingSettings

    sessions = [s for s in store.sessions.list() if s.name == args.session]
    if not sessions:
        raise WorkbenchError(f"No session called '{args.session}'.")
    session = sessions[0]
    variants = store.session_variants.get(session.id)
    model = args.target
    sampling = SamplingSettings(temperature=0.0, seed=0, max_tokens=64)
    if variants:
        first = variants[0]
        model = model or first.model
        sampling = SamplingSettings(temperature=first.temperature,
                                    seed=None if first.seed < 0 else first.seed,
                                    max_tokens=first.max_tokens)
    return session.id, None, model, sampling


def outcome_lines(outcome) -> list[str]:
    lines = []
    evidence = outcome.evidence
    spent = outcome.spent
    if evidence is not None:
        lines.append(f"start:  {_rate(evidence.start_passed, evidence.units)} "
                     f"[{evidence.start_interval.low:.0%}, {evidence.start_interval.high:.0%}] "
                     "on the held-out cases")
        lines.append(f"winner: {_rate(evidence.winner_passed, evidence.units)} "
                     f"[{evidence.winner_interval.low:.0%}, "
                     f"{evidence.winner_interval.high:.0%}] ({outcome.best.slot}: "
                     f"{outcome.best.change})")
        sentence = evidence.sentence()
        lines.append(f"{sentence[:1].upper()}{sentence[1:]} (exact McNemar).")
        lines.append("Significant improvement: the winner is offered."
                     if outcome.significant else
                     "No significant improvement: the best candidate is shown, not offered.")
    lines.append(f"{len(outcome.candidates)} candidates; {spent.search_generations} search + "
                 f"{spent.held_out_generations} held-out generations, "
                 f"{spent.proposer_calls} proposer calls, {spent.wall_s:.0f} s.")
    lines.append(f"Stored in the session as prompt versions (job {outcome.job.id[:8]}).")
    return lines


def _rate(passed: int, total: int) -> str:
    return f"{passed}/{total} ({passed / total:.0%})" if total else "0/0"


def outcome_json(store, outcome) -> dict:
    versions = {c.id: store.prompts.version(c.version_id) for c in outcome.candidates}
    return {
        "job_id": outcome.job.id, "session_id": outcome.job.session_id,
        "status": outcome.status, "exit_code": outcome.exit_code()
        if outcome.evidence is not None else 1,
        "significant": outcome.significant,
        "evidence": outcome.evidence.to_dict() if outcome.evidence else None,
        "split": outcome.split.to_dict(),
        "spent": outcome.spent.to_dict(),
        "start_id": outcome.start.id, "best_id": outcome.best.id,
        "history": [p.to_dict() for p in outcome.history],
        "candidates": [{
            "id": c.id, "slot": c.slot, "version_id": c.version_id, "parent_id": c.parent_id,
            "change": c.change, "critique": c.critique, "round": c.round,
            "settings": c.settings.to_dict(),
            "system_prompt": versions[c.id].system_prompt,
            "user_template": versions[c.id].user_template,
            "examples": [e.to_dict() for e in versions[c.id].examples],
            "evaluations": [e.to_dict() for e in c.evaluations]} for c in outcome.candidates],
    }


class ProgressLine:
    """Generations spent of the budget, on stderr (every 10% when not a terminal)."""

    def __init__(self):
        self.terminal = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, progress) -> None:
        done, total = int(progress.done), int(progress.total)
        percent = int(100 * done / total) if total else 0
        if not self.terminal and percent // 10 == self.shown // 10:
            return
        self.shown = percent
        text = f"improve: {done}/{total} generations ({percent}%)" + (
            f" · {progress.message}" if progress.message else "")
        print(("\r" if self.terminal else "") + text, end="" if self.terminal else "\n",
              file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.terminal and self.shown >= 0:
            print(file=sys.stderr)
