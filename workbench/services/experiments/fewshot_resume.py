"""What a few-shot vs fine-tune experiment left in its folder, read back for a resume: the
config, split and system prompt it ran with (never the example files again: they may have
changed), the suite it stored, the adapters it trained and the evaluation run of each adapter
state. Each step found done is taken as it is; the rest is done as a fresh run would."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ...core.errors import NotFoundError, WorkbenchError
from ...core.experiment_split import Split
from ...core.runs import Run
from ...store import Store
from .. import run_state
from ..evaluation.suite_session import SuiteInSession
from .fewshot_arms import AdapterPlan
from .fewshot_config import FewShotConfig
from .fewshot_training import AdapterResult
from .progress_file import ProgressFile, read_json


@dataclass(frozen=True)
class Recorded:
    """What the first process fixed before any step ran."""

    config: FewShotConfig
    system: str
    model: str
    split: Split
    started: datetime
    stamp: str


def read_folder(folder: Path, progress: ProgressFile) -> Recorded:
    config = read_json(folder / "config.json")
    split = read_json(folder / "split.json")
    header = progress.header
    try:
        return Recorded(FewShotConfig.from_dict(config).validate(),
                        str(config.get("system_used", "")), str(config["model_path"]),
                        Split.from_dict(split), datetime.fromisoformat(header["started_at"]), str(header["stamp"]))
    except (KeyError, TypeError, ValueError) as error:
        raise WorkbenchError(f"The experiment in {folder} cannot be resumed: its config, "
                             f"split or progress is incomplete ({error}).") from None


def mark_suite(progress: ProgressFile, held: SuiteInSession) -> None:
    progress.mark("suite", session_id=held.session.id, suite_id=held.stored.id,
                  case_set_id=held.case_set.id, version_ids=[v.id for v in held.versions])


def stored_suite(store: Store, progress: ProgressFile) -> SuiteInSession | None:
    """The suite (session, prompt versions, cases) the experiment stored, if it did."""
    record = progress.get("suite")
    if record is None:
        return None
    try:
        return SuiteInSession(store.sessions.get(record["session_id"]),
                              tuple(store.prompts.version(i) for i in record["version_ids"]),
                              store.case_sets.get(record["case_set_id"]),
                              store.evaluations.suite(record["suite_id"]))
    except (NotFoundError, KeyError):
        return None  # the database was replaced: store it again


def mark_adapter(progress: ProgressFile, result: AdapterResult) -> None:
    """A trained adapter, or one that failed (as an uninterrupted run would report it); a
    cancelled one is not a finished step."""
    if result.status in ("done", "failed"):
        progress.mark("adapter", result.key, **result.to_dict())


def trained_adapter(progress: ProgressFile, plan: AdapterPlan) -> AdapterResult | None:
    """The adapter's result if it was trained (its GGUF still there) or failed before."""
    record = progress.get("adapter", plan.key)
    if record is None:
        return None
    result = AdapterResult(**{k: v for k, v in record.items()
                              if k in AdapterResult.__dataclass_fields__})
    if result.status == "done" and not (result.adapter_path
                                        and Path(result.adapter_path).is_file()):
        return None
    return result


def group_run(store: Store, progress: ProgressFile, key: str, session_id: str,
              labels: list[str]) -> Run | None:
    """The evaluation run of one adapter state: the one its step names, else one of the
    experiment's session with exactly these columns (killed before its first cell was
    stored) that can still be finished."""
    record = progress.get("eval", key) or {}
    run_state.find_interrupted(store)
    if record.get("run_id"):
        try:
            return store.runs.get(record["run_id"])
        except NotFoundError:
            return None
    for run in reversed(store.runs.for_session(session_id)):
        if [v.label for v in run.variants] == labels and run.status in run_state.RESUMABLE:
            return run
    return None


def stored_outputs(store: Store, run_ids: list[str], traced_variants: list[str]):
    """The runs' outputs (id -> Output; the token traces of ``traced_variants``' outputs, which
    the control compares) and their verdicts, as stored: the same for a run done in one go,
    one finished by a resume, or one done before the process was killed."""
    outputs = {}
    results = []
    wanted = set(traced_variants)
    for run_id in run_ids:
        for output in store.runs.outputs(run_id):
            if output.variant_id in wanted and output.answered:
                output = replace(output, token_trace=store.runs.token_trace(output.id))
            outputs[output.id] = output
        results += store.evaluations.results(run_id)
    return outputs, results
