"""The quantization lab: which quantization of a model should this machine run?

From a high-precision GGUF (for an already quantized file, its F16 form written by llama.cpp's
quantizer first), make each asked type with llama.cpp's quantizer, take existing files as they
are, then measure every arm (file × engine settings) in its own child process: size, memory,
prompt and decode speed, KL divergence from the reference and same-top-token %, and (with a
suite) the evaluation lab's pass rate. One JobState, which the service starts and returns,
carries it all: progress per step, each arm as a partial result, its cancel kills the running
child (each child is started for the job) and ends the lab cancelled; a failed arm is marked
and the others go on. The experiment is kept in ``experiments/<UTC time>-quantlab/`` under the
app's data folder (config.json, results.json, report.html, report.md): results.json alone
reopens the report.
Each step is marked in the folder's progress.json as it ends, so an interrupted lab resumes
(``QuantLabService.resume``) without making or measuring again what it had (quantlab_resume.py).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from ...core.errors import WorkbenchError
from ...core.job_state import JobProgress, JobState, JobWatcher
from ...core.paths import AppPaths, app_paths
from ...engine.quantlab.child import ChildCancelled, ChildFailed, LabChild
from ...library.gguf_metadata import read_gguf_info
from ...library.system_memory import system_memory
from ..job_start import start_job
from . import experiment_state
from . import quantlab_resume as steps
from .eval_step import MarkRunStarted
from .folders import new_experiment_folder
from .progress_file import ProgressFile, read_json, write_json
from .quantlab_config import (
    HIGH_PRECISION,
    SAMPLE_TEXTS,
    QuantLabConfig,
    base_name,
    checked,
    engine_settings,
    suite_texts,
)
from .quantlab_measure import (
    arm_label,
    arm_spec,
    chat_renderer,
    pass_rate,
    reference_spec,
    run_measure,
    write_spec,
)
from .quantlab_outcome import QuantLabOutcome, quantized_folder
from .quantlab_plan import LabProgress, lab_plan, measuring_plan


class QuantLabService:
    def __init__(self, models, store=None, evaluation=None, *, paths: AppPaths | None = None,
                 plugins=None):
        self.models, self.store, self.evaluation = models, store, evaluation
        self.plugins = plugins
        self.paths = paths or app_paths()

    # -- starting --------------------------------------------------------------------------

    def start(self, config: QuantLabConfig, watcher: JobWatcher | None = None) -> JobState:
        """Run the lab on a thread of its own and return its job (``watcher`` attached before
        anything runs); the job ends with a QuantLabOutcome, cancelled ones too."""
        return start_job("quantization lab", lambda job: self.run(config, job), watcher,
                         thread_name="quantlab")

    def start_resume(self, folder: Path | str | None = None,
                     watcher: JobWatcher | None = None) -> JobState:
        """``resume`` on a thread of its own, as ``start``."""
        return start_job("quantization lab", lambda job: self.resume(folder, job), watcher,
                         thread_name="quantlab")

    def run(self, config: QuantLabConfig, job: JobState | None = None) -> QuantLabOutcome:
        """Blocking. Bad settings raise WorkbenchError (and fail the job) before anything runs."""
        job = job or JobState("quantization lab")
        try:
            config, suite = checked(config)
            source = self.models.resolve(config.model)
            outcome = _Lab(self, config, source, job, suite).run()
        except BaseException as error:
            job.fail(str(error))
            raise
        job.finish(outcome)
        return outcome

    def resume(self, folder: Path | str | None = None,
               job: JobState | None = None) -> QuantLabOutcome:
        """Finish an interrupted (or stopped) lab in its folder — the newest when ``folder`` is
        None — with its stored settings: files still as recorded (size and SHA-256), the
        reference pass, arms measured and pass rates found are kept; an evaluation run left
        half-way is finished in place; the rest runs as a fresh lab would. Blocking."""
        job = job or JobState("quantization lab")
        try:
            state = experiment_state.to_resume(self.paths, "quantlab", folder)
            experiment_state.hold(state.folder)
            try:
                progress = ProgressFile.load(state.folder)
                config, suite = checked(QuantLabConfig.from_dict(
                    read_json(state.folder / "config.json")))
                source = Path(progress.header.get("source") or "")
                if not source.is_file():
                    source = self.models.resolve(config.model)
                progress.resumed()
                lab = _Lab(self, config, source, job, suite, progress)
            except BaseException:
                experiment_state.release(state.folder)
                raise
            outcome = lab.run()
        except BaseException as error:
            job.fail(str(error))
            raise
        job.finish(outcome)
        return outcome

    def _evaluation(self):
        if self.evaluation is None:
            from ..compare import RunService
            from ..evaluation.eval_service import EvalService

            if self.store is None:
                raise WorkbenchError("the pass rate needs the app's store")
            self.evaluation = EvalService(self.store, self.models,
                                          RunService(self.store, self.models, self.plugins),
                                          self.plugins)
        return self.evaluation

    def _add_to_library(self, path: Path, extra: dict) -> str:
        from ..library import LibraryService

        library = LibraryService(self.paths, self.store)
        try:
            for entry in library.store.catalog.models():  # made by an earlier lab: hashed
                if os.path.abspath(entry.path) == str(path):
                    return entry.name
            return library.add_file(path, source="quantlab", extra=extra).name
        finally:
            library.close()


class _Lab:
    """One run: the steps in order, the results dict filled as they go."""

    def __init__(self, service: QuantLabService, config: QuantLabConfig, source: Path,
                 job: JobState, suite=None, journal: ProgressFile | None = None):
        """``journal``: the progress of the lab to resume (its folder's lease held); None:
        a new lab in a new folder."""
        self.service, self.config, self.source, self.job = service, config, source, job
        self.suite = suite  # read once: its texts, then each arm's pass rate
        self.suite_yaml = _text_of(config.suite) if suite is not None else ""
        self.info = read_gguf_info(source)
        if journal is None:
            now = datetime.now(UTC)
            folder = new_experiment_folder(service.paths, "quantlab", now)
            experiment_state.hold(folder)
            try:
                journal = ProgressFile.create(folder, "quantlab", started_at=now.isoformat(),
                                              source=str(source))
                write_json(folder / "config.json", config.to_dict())
            except BaseException:
                experiment_state.release(folder)
                raise
        self.journal = journal  # the steps done, in progress.json
        self.folder = journal.folder
        self.logs = self.folder / "logs"
        self.files_dir = quantized_folder(service.paths) / base_name(source)
        self.results: dict = {
            "title": f"Quantization lab: {base_name(source)}", "model": base_name(source),
            "source": str(source), "source_type": self.info.quantization,
            "config": config.to_dict(), "started": journal.header["started_at"],
            "machine": _machine(), "arms": [], "files": [], "status": "running",
        }
        self.tracker = LabProgress(self.plan())

    # -- progress ----------------------------------------------------------------------------

    def plan(self, files: list[dict] | None = None):
        """The steps weighted by what they cost (quantlab_plan), on the texts they will read;
        with ``files`` (those prepared), the steps left once they are ready."""
        texts, cases = None, 0
        if self.suite is not None:
            cases = (len(self.suite.prompts) * len(self.suite.effective_tests())
                     * self.config.eval_repeats)
            if not self.config.texts:
                texts = suite_texts(self.suite, _plain_chat)
        if files is None:
            return lab_plan(self.config, self.info.quantization not in HIGH_PRECISION, texts,
                            cases)
        return measuring_plan(self.config, [not file.get("error") for file in files], texts,
                              cases)

    def progress(self, message: str) -> None:
        """The message, and the work done as a fraction of the plan (done of 1000)."""
        self.job.set_progress(round(1000 * self.tracker.fraction(), 1), 1000, message)

    def child_progress(self, label: str, event: JobProgress) -> None:
        self.tracker.child_event(event)
        self.progress(f"{label}: {event.message}")

    def suite_progress(self, label: str, message: str, part: float) -> None:
        self.tracker.part(part)
        self.progress(f"{label}: {message}")

    def advance(self, kind: str) -> None:
        if not self.job.cancelled:  # a cancelled lab's bar stays where its work stopped
            self.tracker.end(kind)

    # -- the steps -----------------------------------------------------------------------------

    def run(self) -> QuantLabOutcome:
        """The steps, then the results; the folder's lease is given back however it ends."""
        try:
            return self._steps()
        except Exception as error:
            self.journal.update(status="failed", error=str(error))
            raise
        finally:
            experiment_state.release(self.folder)

    def _steps(self) -> QuantLabOutcome:
        files: list[dict] = []
        npz, own = None, {}
        try:
            files = self.prepare_files()
            self.tracker.replan(self.plan(files))
            if not self.job.cancelled:
                npz, own = self.reference_pass(files[0])
                self.advance("reference")
        except ChildCancelled:
            pass
        try:
            self.measure_arms(files, npz, own)  # arms not measured are marked cancelled
            if self.config.suite and not self.job.cancelled:
                self.pass_rates(files)
        except ChildCancelled:
            pass
        self.results["status"] = "cancelled" if self.job.cancelled else "done"
        self.results["finished"] = datetime.now(UTC).isoformat()
        return self.write()

    def prepare_files(self) -> list[dict]:
        """The reference first, then each asked type (made, or reused from an earlier lab),
        then the existing files; a type that cannot be made is a failed entry."""
        kind = self.info.quantization
        files: list[dict] = []
        self.progress("reference file")
        if kind in HIGH_PRECISION:
            reference = {"type": kind, "path": str(self.source), "origin": "given"}
            note = f"The reference is {self.source.name} itself ({kind})."
        else:
            reference = self.file_step("F16", self.source, requantize=True)
            if reference.get("error"):
                raise WorkbenchError(f"Cannot write the F16 reference of {self.source.name}: "
                                     f"{reference['error']}")
            note = (f"The reference is the F16 form of a {kind} file ({self.source.name}): "
                    "the divergences measure quantizing that file again, not the loss from "
                    "the original weights.")
        reference["reference"] = True
        self.results["reference_note"] = note
        files.append(reference)
        self.advance("file")
        for quant in self.config.quants:
            if self.job.cancelled:
                break
            if quant == reference["type"]:
                self.advance("file")
                continue
            files.append(self.file_step(quant, Path(reference["path"])))
            self.advance("file")
        for path in self.config.existing:
            file = Path(os.path.abspath(Path(path).expanduser()))
            try:
                found = read_gguf_info(file).quantization
                files.append({"type": found, "path": str(file), "origin": "library"})
            except WorkbenchError as error:
                files.append({"type": file.name, "path": str(file), "origin": "library",
                              "error": str(error)})
            self.advance("file")
        self.results["files"] = files
        return files

    def file_step(self, quant: str, source: Path, requantize: bool = False) -> dict:
        """A file made by this lab before it was interrupted, as recorded; else ``make``."""
        kept = steps.kept_file(self.journal, quant)
        if kept is not None:
            self.progress(f"keeping {Path(kept['path']).name}")
            return kept
        return steps.mark_file(self.journal, quant, self.make(quant, source, requantize))

    def make(self, quant: str, source: Path, requantize: bool = False) -> dict:
        target = self.files_dir / f"{base_name(self.source)}-{quant}.gguf"
        entry = {"type": quant, "path": str(target), "origin": "made"}
        if target.is_file() and target.stat().st_size > 0:
            entry["origin"] = "reused"
            self.progress(f"reusing {target.name}")
        else:
            self.progress(f"quantizing to {quant}")
            target.parent.mkdir(parents=True, exist_ok=True)
            # Written under another name and renamed once whole: a killed quantizer leaves
            # no half file that a later lab would take for a finished one.
            partial = target.with_name(target.name + ".part")
            args = [str(source), str(partial), quant, "--threads", str(self.config.threads)]
            child = LabChild("quantize", args + (["--allow-requantize"] if requantize else []),
                             self.logs / f"quantize-{quant}.log", self.job)
            try:
                made = child.run(lambda event: self.progress(event.message))
                entry["quantize_seconds"] = made.get("seconds")
                partial.replace(target)
            except ChildFailed as error:
                entry["error"] = str(error)
                return entry
            finally:
                partial.unlink(missing_ok=True)
        try:
            entry["library_name"] = self.service._add_to_library(
                target, {"quantlab": {"from": str(source), "type": quant}})
        except WorkbenchError as error:
            entry["library_error"] = str(error)
        return entry

    def reference_pass(self, reference: dict) -> tuple[Path, dict]:
        kept = steps.kept_reference(self.journal)
        if kept is not None:
            self.results["reference"] = kept[0]
            return Path(kept[0]["npz"]), kept[1]
        self.progress("reference token distributions")
        template_source = None
        if self.config.texts:
            texts, origin = list(self.config.texts), "given"
        elif self.config.suite:
            chat, template_source = chat_renderer(self.service.models, reference["path"],
                                                  self.source)
            texts, origin = suite_texts(self.suite, chat), "suite"
        else:
            texts, origin = list(SAMPLE_TEXTS), "samples"
        if not texts:
            raise WorkbenchError("The quantization lab has no texts to read token "
                                 "distributions on (the suite gave none).")
        npz = self.folder / "reference.npz"
        spec = write_spec(self.folder, "reference",
                          reference_spec(self.config, Path(reference["path"]), texts, npz))
        label = arm_label(reference["type"], "", True)
        self.progress(f"measuring {label}")
        self.results["reference"] = {"path": reference["path"], "npz": str(npz),
                                     "top_k": self.config.top_k, "source": origin,
                                     "template": template_source}
        try:
            result = run_measure(spec, self.logs / "reference.log", self.job,
                                 lambda event: self.child_progress(label, event))
        except ChildFailed as error:
            raise WorkbenchError(f"The reference {Path(reference['path']).name} could not be "
                                 f"measured: {error}") from None
        self.results["reference"].update(texts=result.get("texts"),
                                         positions=result.get("positions"))
        result.pop("model", None)
        result.pop("reference", None)
        own = {"status": "done", **result}
        steps.mark_reference(self.journal, self.results["reference"], own)
        return npz, own

    def measure_arms(self, files: list[dict], npz: Path | None, own: dict) -> None:
        """Every file × engine setting; the reference with default settings was measured in
        the reference pass (``own``)."""
        for file in files:
            for flags in self.config.engines:
                arm = {"label": arm_label(file["type"], flags, file.get("reference", False)),
                       "type": file["type"], "engine": flags, "path": file["path"],
                       "reference": bool(file.get("reference")), "origin": file["origin"]}
                kept = self.journal.get("arm", steps.arm_key(arm))
                if kept is not None:
                    arm.update(kept)  # measured before the lab was interrupted
                elif file.get("error"):
                    arm.update(status="failed", error=file["error"])
                elif arm["reference"] and not flags and own:
                    arm.update(own)
                elif self.job.cancelled or npz is None:
                    arm.update(status="cancelled")
                else:
                    arm.update(self.measure(arm, npz))
                if kept is None:
                    steps.mark_arm(self.journal, arm)
                self.results["arms"].append(arm)
                self.job.add_partial(dict(arm))
                self.advance("arm")

    def measure(self, arm: dict, npz: Path) -> dict:
        self.progress(f"measuring {arm['label']}")
        name = f"arm-{len(self.results['arms']) + 1}"
        spec = write_spec(self.folder, name, arm_spec(self.config, Path(arm["path"]),
                                                      arm["engine"], npz))
        try:
            result = run_measure(spec, self.logs / f"{name}.log", self.job,
                                 lambda event: self.child_progress(arm["label"], event))
        except ChildCancelled:
            return {"status": "cancelled"}
        except ChildFailed as error:
            return {"status": "failed", "error": str(error)}
        result.pop("model", None)
        return {"status": "done", **result}

    def pass_rates(self, files: list[dict]) -> None:
        """The suite's pass rate of every measured arm: each file under each engine setting
        (flash attention and the KV cache type change outputs too)."""
        rates: dict[tuple[str, str], dict] = {}
        for file in files:
            for flags in self.config.engines:
                if self.job.cancelled:
                    break
                measured = [a for a in self.results["arms"] if a["path"] == file["path"]
                            and a["engine"] == flags and a["status"] == "done"]
                key = steps.arm_key({"path": file["path"], "engine": flags})
                kept = self.journal.get("pass_rate", key) or {}
                if measured and kept.get("state") == "done":
                    rates[file["path"], flags] = kept["rates"]
                elif measured:
                    label = measured[0]["label"]
                    self.progress(f"suite on {label}")
                    try:
                        rates[file["path"], flags] = pass_rate(
                            self.service._evaluation(), self.suite, self.suite_yaml,
                            Path(file["path"]),
                            self.config.eval_repeats, self.job,
                            lambda message, part, label=label: self.suite_progress(
                                label, message, part),
                            engine=engine_settings(flags), run_id=kept.get("run_id"),
                            listener=MarkRunStarted(self.journal, "pass_rate", key))
                    except ChildCancelled:
                        break
                    except WorkbenchError as error:
                        rates[file["path"], flags] = {"pass_error": str(error)}
                    self.journal.mark("pass_rate", key, state="done",
                                      rates=rates[file["path"], flags])
                self.advance("suite")
        for arm in self.results["arms"]:
            arm.update(rates.get((arm["path"], arm["engine"]), {}))

    def write(self) -> QuantLabOutcome:
        self.progress("writing the report")
        outcome = QuantLabOutcome(self.folder, self.results)
        document = outcome.report()
        document.write(self.folder / "report.html")
        document.write(self.folder / "report.md")
        write_json(self.folder / "results.json", self.results)  # last: the lab has ended
        self.journal.update(status=self.results["status"])
        self.advance("report")
        self.progress("done" if not self.job.cancelled else "cancelled")
        return outcome


def _plain_chat(messages) -> str:
    """The messages' text without a chat template: enough to size the suite's texts before
    the reference's template is read."""
    return "\n".join(message.content for message in messages)


def _text_of(path: str) -> str:
    """The suite file's text, kept with the runs it makes ("" when it cannot be read again)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _machine() -> dict:
    memory = system_memory()
    return {"free_ram": memory.free_ram, "total_ram": memory.total_ram,
            "free_vram": memory.free_vram, "total_vram": memory.total_vram, "gpu": memory.gpu,
            "cpus": os.cpu_count(), "measured_at": time.time()}
