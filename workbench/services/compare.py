"""Run a comparison: variants (prompt version × model × sampling × adapter) over test cases.

Work happens in background threads: per distinct model load, as many cells at once as the
model decodes in parallel (its host batches them: one llama_decode per step for all of them,
their common prompt prefix computed once). Variants on different models stream at the same
time. Cells go case by case, so the first row of the grid fills first. Every output is saved
the moment it is complete, with the engine settings that decided its arithmetic.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..core.cases import TestCase
from ..core.errors import IncompleteAnswer, WorkbenchError, describe_error
from ..core.generation import DoneEvent, GenerationRequest, TokenEvent
from ..core.model_info import AdapterSpec, LoadSettings
from ..core.prompts import PromptVersion
from ..core.retrieval import RetrievalSettings
from ..core.retrieved_context import compose
from ..core.runs import CANCELLED_FINISH, CellKey, Output, Run, RunStatus, Variant
from ..core.sampling import SamplingSettings
from ..library.hashing import file_sha256
from ..plugins.manager import PluginManager
from ..store import Store
from . import run_lease
from .cell_stream import TraceCollector, cells_of, stream_text
from .evaluation.javascript import CaseVariables
from .models import ModelService
from .retrieval_context import CaseRetriever
from .run_job import JOB_STATUS, RunHandle, RunListener


@dataclass(frozen=True)
class VariantSpec:
    """A column as the user defines it, before it is stored as a Variant."""

    label: str
    prompt_version: PromptVersion
    model: str | None  # name or path; None = the bundled model
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    n_ctx: int = 4096
    n_gpu_layers: int | None = None
    adapter_path: str | None = None
    adapter_scale: float = 1.0
    # LoadSettings' engine fields (flash_attn, cache_type_k/v, n_batch, n_ubatch, n_parallel);
    # missing ones are llama.cpp's defaults. Variants with equal settings share one model.
    engine: dict = field(default_factory=dict)
    # Which document set fills {{ context }}, how, how many (mode "none": context is empty).
    retrieval: RetrievalSettings = RetrievalSettings()


def seed_for_repeat(sampling: SamplingSettings, repeat: int) -> SamplingSettings:
    """Repeat r of a cell: the variant's seed + r, so repeats differ and each is reproducible;
    no seed: the host draws one per request (recorded with the output)."""
    if repeat == 0 or sampling.seed is None:
        return sampling
    return sampling.with_(seed=sampling.seed + repeat)


class RunService:
    def __init__(self, store: Store, models: ModelService, plugins: PluginManager | None = None,
                 retrieval=None):
        """``retrieval``: the retrieval lab's RetrievalService to search with (None: one is
        made by the first run that retrieves)."""
        self.store = store
        self.models = models
        self.plugins = plugins
        self._expected: dict[str, str | None] = {}  # case id -> expected output, for scorers
        # The retrieval lab's service, shared by this service's runs (one embedding host).
        self._retrieval = retrieval
        self._retrieval_lock = threading.Lock()

    def retrieval_service(self):
        """The retrieval lab's service this service's runs search with (made on first use:
        runs without retrieval never pay for it)."""
        with self._retrieval_lock:
            if self._retrieval is None:
                from .retrieval.service import RetrievalService  # only when retrieval is used

                self._retrieval = RetrievalService(self.store, self.models)
            return self._retrieval

    def start(self, session_id: str, case_set_id: str | None, cases: Sequence[TestCase],
              specs: Sequence[VariantSpec], listener: RunListener, *, name: str = "",
              repeats: int = 1, concurrency: int | None = None) -> RunHandle:
        """Generate every cell (``repeats`` times each, every repeat with its own recorded
        seed). ``concurrency``: requests in flight at once to a remote model (a local model
        decodes as many as it has parallel sequences)."""
        resolved: dict = {}  # each model resolved once: resolving lists the library
        settings = [self._load_settings(spec, resolved) for spec in specs]
        run_id_holder = Run(session_id, name=name, case_set_id=case_set_id,
                            status=RunStatus.RUNNING)
        variants = tuple(self._variant(run_id_holder.id, spec, load, position)
                         for position, (spec, load) in enumerate(zip(specs, settings)))
        # The lease first: a run stored as running is never seen without its process.
        run_lease.hold(self.store.db.path, run_id_holder.id)
        try:
            run = self.store.runs.add(replace(run_id_holder, variants=variants))
        except BaseException:
            run_lease.release(self.store.db.path, run_id_holder.id)
            raise
        return self._launch(run, list(zip(variants, specs, settings)), list(cases), listener,
                            repeats=max(1, repeats), concurrency=concurrency)

    def resume(self, run: Run, specs: Sequence[VariantSpec], cases: Sequence[TestCase],
               missing: Sequence[CellKey], listener: RunListener, *, repeats: int = 1,
               concurrency: int | None = None) -> RunHandle:
        """Generate only ``missing`` cells of a stored run (interrupted, or stopped), into the
        same run with the same settings and seeds, as if it had never stopped. ``specs``:
        the run's variants as specs, in order (run_state.spec_for). Stopped cells' outputs
        are replaced."""
        run_lease.hold(self.store.db.path, run.id)
        try:
            missing = set(missing)
            self.store.runs.remove_cancelled(run.id, missing)
            answered = {variant_id for variant_id, cells in self._answered_cells(run).items()
                        if cells}
            self.store.runs.set_status(run.id, RunStatus.RUNNING)
            resolved: dict = {}
            settings = [self._load_settings(spec, resolved) for spec in specs]
        except BaseException:
            run_lease.release(self.store.db.path, run.id)
            raise
        return self._launch(replace(run, status=RunStatus.RUNNING),
                            list(zip(run.variants, specs, settings)), list(cases), listener,
                            repeats=max(1, repeats), concurrency=concurrency, only=missing,
                            answered_before=answered)

    def _answered_cells(self, run: Run) -> dict[str, int]:
        """Variant id -> how many of its cells hold an answer."""
        counts: dict[str, int] = defaultdict(int)
        for cell, finish in self.store.runs.filled_cells(run.id).items():
            if finish not in (CANCELLED_FINISH, "error"):
                counts[cell.variant_id] += 1
        return counts

    def rerun_cell(self, run: Run, variant: Variant, spec: VariantSpec, case: TestCase,
                   listener: RunListener) -> RunHandle:
        """Generate one cell again; the new output is stored beside the old one."""
        return self._launch(run, [(variant, spec, self._load_settings(spec))], [case], listener,
                            final_status=False)

    def branch_cell(self, run: Run, variant: Variant, spec: VariantSpec, case: TestCase,
                    forced_tokens: Sequence[int], branch_of: str | None,
                    listener: RunListener) -> RunHandle:
        """Generate one cell again with ``forced_tokens`` first (as if the model had chosen
        them: an alternative picked at position i, after the i tokens before it), then on as
        the variant samples. The new output is stored beside the others as a branch of
        ``branch_of``, with its forced tokens in its provenance."""
        forced = tuple(int(token) for token in forced_tokens)
        if not forced:
            raise WorkbenchError("A branch needs at least one forced token.")
        return self._launch(run, [(variant, spec, self._load_settings(spec))], [case], listener,
                            final_status=False,
                            branch={"branch_of": branch_of, "forced_tokens": forced})

    # -- internals -----------------------------------------------------------------------

    def _load_settings(self, spec: VariantSpec, resolved: dict | None = None
                       ) -> LoadSettings | str:
        """How to get the variant's model: local load settings, or a remote reference.
        ``resolved`` remembers each model's path across a run's variants (resolving a name
        lists the library). Adapters go with each request, not the load: base and adapted
        variants of one model share one loaded model."""
        if self.models.is_remote(spec.model):
            return spec.model
        resolved = {} if resolved is None else resolved
        if spec.model not in resolved:
            resolved[spec.model] = str(self.models.resolve(spec.model))
        return self.models.settings_for(resolved[spec.model], n_ctx=spec.n_ctx,
                                        n_gpu_layers=spec.n_gpu_layers, **spec.engine)

    @staticmethod
    def _adapters(spec: VariantSpec) -> tuple[AdapterSpec, ...]:
        return (AdapterSpec(spec.adapter_path, spec.adapter_scale),) if spec.adapter_path else ()

    @staticmethod
    def _variant(run_id: str, spec: VariantSpec, load, position: int) -> Variant:
        local = isinstance(load, LoadSettings)
        return Variant(
            run_id=run_id, prompt_version_id=spec.prompt_version.id,
            model_path=load.path if local else load, sampling=spec.sampling, label=spec.label,
            position=position, adapter_path=spec.adapter_path, adapter_scale=spec.adapter_scale,
            engine_settings=(load.engine_settings() if local
                             else {"backend": load.split("+", 1)[0]}),
            retrieval=spec.retrieval,
        )

    def _launch(self, run: Run, columns, cases: list[TestCase], listener: RunListener,
                final_status: bool = True, repeats: int = 1,
                concurrency: int | None = None, branch: dict | None = None,
                only: set[CellKey] | None = None,
                answered_before: set[str] = frozenset()) -> RunHandle:
        """``only``: generate just these cells (a resume); ``answered_before``: variants that
        already hold answers (a resume: such a column has not failed whatever happens now)."""
        retriever = CaseRetriever(self.store, self.retrieval_service, session_id=run.session_id)
        total = (len(columns) * len(cases) * max(1, repeats)) if only is None else len(only)
        handle = RunHandle(run, total, retriever)
        # an evaluating listener checks with the variables the cells are rendered from
        shared = getattr(listener, "variables", None)
        if isinstance(shared, CaseVariables):
            handle.variables = shared
        self._expected.update({c.id: c.expected for c in cases})
        if self.plugins is not None and final_status:
            self.plugins.emit("run_will_start", run=run)
        groups: dict[LoadSettings | str, list] = defaultdict(list)
        for column in columns:
            groups[column[2]].append(column)
        failures: list[str] = []  # ids of columns that produced no answer

        def work(load, group) -> None:
            try:
                failed = self._run_group(handle, load, group, cases, listener, repeats,
                                         concurrency, branch, only)
            except Exception as error:  # noqa: BLE001 - a bug must not leave the run hanging
                for variant, spec, case, repeat in cells_of(group, cases, repeats, only):
                    self._fail(listener, {**self._base(variant, spec), "repeat": repeat}, case,
                               describe_error(error), "")
                failed = {variant.id for variant, _, _ in group}
            failures.extend(failed - answered_before)

        threads = [threading.Thread(target=work, args=item, daemon=True, name="compare")
                   for item in groups.items()]

        def supervise() -> None:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            status = (RunStatus.CANCELLED if handle.cancelled
                      else RunStatus.FAILED if failures and len(failures) == len(columns)
                      else RunStatus.DONE)
            if final_status:
                try:
                    self.store.runs.set_status(run.id, status)
                except WorkbenchError:
                    pass  # the outputs are saved; a status that failed to save is not worth a crash
                finally:
                    run_lease.release(self.store.db.path, run.id)
            handle.finish(status, status=JOB_STATUS[status])
            listener.run_finished(run.id, status)

        threading.Thread(target=supervise, daemon=True, name="compare-supervisor").start()
        return handle

    def _run_group(self, handle: RunHandle, load, group, cases: list[TestCase],
                   listener: RunListener, repeats: int = 1,
                   concurrency: int | None = None, branch: dict | None = None,
                   only: set[CellKey] | None = None) -> set[str]:
        """Generate every cell of the columns that share one model (``only`` those cells,
        when given); return the ids of the columns that produced no answer. ``branch``: the
        branch_of and forced_tokens of a branch's output."""
        cells = cells_of(group, cases, repeats, only)
        local = isinstance(load, LoadSettings)
        bases = {variant.id: {**self._base(variant, spec), **(branch or {})}
                 for variant, spec, _ in group}
        try:
            model = self.models.load(load) if local else self.models.open_remote(load)
        except WorkbenchError as error:
            for variant, _, case, repeat in cells:
                self._fail(listener, {**bases[variant.id], "repeat": repeat}, case, str(error),
                           "")
            handle._cell_done(len(cells))
            return {variant.id for variant, _, _ in group}
        settle = getattr(model, "wait_settled", None)
        if settle is not None:  # a stop just before this run: let its cancels end first
            settle()
        provenance = {"model_sha256": self._sha(load.path) if local else None,
                      "chat_template": model.metadata.chat_template}
        engine = getattr(model.metadata, "engine", None) or {}
        for variant, _, _ in group:
            bases[variant.id].update(provenance)
            if local:  # what llama.cpp resolved (flash attention auto→on, threads, …)
                bases[variant.id]["engine_settings"] = {
                    **load.engine_settings(), **engine,
                    # Where the chat template came from: the file, a llama.cpp built-in, yours.
                    "chat_template_source": getattr(model.metadata, "chat_template_source",
                                                    "file")}
        succeeded: set[str] = set()
        pending = iter(cells)
        lock = threading.Lock()

        def next_cell():
            with lock:
                return next(pending, None)

        def worker() -> None:
            while (cell := next_cell()) is not None:
                variant, spec, case, repeat = cell
                if self._run_cell(handle, model, variant, spec, case, bases[variant.id],
                                  listener, repeat):
                    succeeded.add(variant.id)
                handle._cell_done()

        # A local model decodes n_parallel sequences at once; a remote server takes as many
        # requests as the user allows (its own slots decide how many run at once).
        if local:
            parallel = int(engine.get("n_parallel") or 1)
        else:
            parallel = int(concurrency or getattr(model, "concurrency", 1) or 1)
        parallel = max(1, parallel)
        workers = [threading.Thread(target=worker, daemon=True, name="compare-cell")
                   for _ in range(min(parallel, len(cells)))]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        return {variant.id for variant, _, _ in group if variant.id not in succeeded}

    def _run_cell(self, handle: RunHandle, model, variant: Variant, spec: VariantSpec,
                  case: TestCase, base: dict, listener: RunListener, repeat: int = 0) -> bool:
        """Generate one cell and save it; True if it produced an output."""
        base = {**base, "repeat": repeat}
        sampling = seed_for_repeat(spec.sampling, repeat)
        if handle.cancelled:  # stored as cancelled, neither an answer nor a failure
            self._fail(listener, base, case, "Cancelled before it started.", "",
                       finish=CANCELLED_FINISH)
            return False
        try:
            context = handle.retriever.context_for(spec.retrieval, handle.variables.of(case),
                                                   spec.prompt_version.user_template)
            messages = compose(spec.prompt_version, context.variables)
            if self.plugins is not None:
                messages = self.plugins.transform(messages)
        except WorkbenchError as error:
            self._fail(listener, base, case, str(error), "")
            return False
        request = GenerationRequest(messages=tuple(messages), sampling=sampling,
                                    adapters=self._adapters(spec),
                                    forced_tokens=tuple(base.get("forced_tokens", ())))
        collector = TraceCollector(sampling)
        try:
            stream = model.generate(request)
        except WorkbenchError as error:  # e.g. an adapter file that cannot be used
            self._fail(listener, base, case, str(error), "")
            return False
        handle._track(stream)
        listener.cell_started(variant.id, case.id)
        tokens = 0  # token events seen: a partial answer records how far it got
        try:
            for event in stream:
                if isinstance(event, TokenEvent):
                    tokens += 1
                    collector.add(event)
                    if event.text:
                        listener.cell_token(variant.id, case.id, event.text)
                elif isinstance(event, DoneEvent):
                    if event.stats.finish_reason == "error":
                        raise IncompleteAnswer("The model's backend ended the answer with an "
                                               "error.", event.text)
                    fields = {**base, "sampling": sampling.with_(seed=stream.seed)}
                    self._save(listener, Output(
                        **fields, case_id=case.id, text=event.text,
                        token_count=event.stats.completion_tokens,
                        prompt_tokens=event.stats.prompt_tokens,
                        time_to_first_token_s=event.stats.time_to_first_token_s,
                        tokens_per_second=event.stats.tokens_per_second,
                        finish_reason=event.stats.finish_reason, seed=stream.seed,
                        total_s=event.stats.total_s, token_trace=collector.trace()),
                        lambda output_id: handle.retriever.record(output_id, context))
                    return True
            # A stream that stops without saying it finished is a fragment, whatever the
            # backend (a plugin's included): never stored as an answer.
            raise IncompleteAnswer("The model's stream ended without finishing the answer.",
                                   stream_text(stream))
        except WorkbenchError as error:
            partial = getattr(error, "partial_text", "") or stream_text(stream)
            # A host that ignored the stop is killed: that ends the cell as cancelled, not failed.
            finish = CANCELLED_FINISH if handle.cancelled else "error"
            self._fail(listener, base, case, str(error), partial, finish=finish,
                       token_count=tokens, seed=getattr(stream, "seed", None))
        except Exception as error:  # noqa: BLE001 - e.g. a plugin backend's bug
            self._fail(listener, base, case, describe_error(error),
                       stream_text(stream), token_count=tokens,
                       seed=getattr(stream, "seed", None))
        finally:
            handle._untrack(stream)
        return False

    @staticmethod
    def _base(variant: Variant, spec: VariantSpec) -> dict:
        """Output fields every cell of a column shares."""
        return dict(run_id=variant.run_id, variant_id=variant.id, model_path=variant.model_path,
                    sampling=spec.sampling, adapter_path=spec.adapter_path,
                    adapter_scale=spec.adapter_scale if spec.adapter_path else None,
                    engine_settings=dict(variant.engine_settings))

    def _fail(self, listener, base, case, message: str, partial: str, finish: str = "error",
              token_count: int = 0, seed: int | None = None):
        self._save(listener, Output(**base, case_id=case.id, text=partial, finish_reason=finish,
                                    error=message, token_count=token_count, seed=seed))

    def _save(self, listener: RunListener, output: Output, record=None) -> None:
        """``record(output_id)``: keep what retrieval put into its prompt, before listeners
        (the evaluator's ``grounded`` check) read it."""
        try:
            self.store.runs.add_output(output)
            if record is not None:
                record(output.id)
        except WorkbenchError as error:  # shown in the cell; the text is still on screen
            output = replace(output, error=f"{output.error or ''} Not saved: {error}".strip())
        listener.cell_finished(output)
        if self.plugins is not None and output.answered:  # a stopped cell's half answer is no answer
            self.plugins.emit("output_did_finish", output=output)
            annotate = getattr(listener, "cell_annotated", None)
            if annotate is not None:
                expected = self._expected.get(output.case_id)
                flags = [f.reason for f in self.plugins.check_output(output.text)]
                scores = {s.scorer: s.value for s in self.plugins.scores(output.text, expected)
                          if s.value is not None}
                annotate(output.id, output.variant_id, output.case_id, flags, scores)

    @staticmethod
    def _sha(path: str) -> str | None:
        try:
            return file_sha256(path)
        except OSError:
            return None
