"""Use cases of the composer: sessions, prompt versions, test cases, drafts."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..core.cases import CaseSet, TestCase
from ..core.engine_flags import format_engine_flags, format_sampling_flags
from ..core.evaluation import Assertion
from ..core.prompts import FewShotExample, Prompt, PromptVersion, content_hash
from ..core.ratings import Preference, Rating
from ..core.runs import Output, Run
from ..core.session_variants import CURRENT_VERSION, DEFAULT_VARIANTS, SessionVariant
from ..core.sessions import Draft, Session
from ..store import Store
from . import run_state
from .library import ModelNames

COMPOSER_DRAFT = "composer"
MAIN_PROMPT = "main"
MAIN_CASES = "cases"


@dataclass(frozen=True)
class CaseChecks:
    """What the cases table keeps beside a row's values: the case's assertions, its pass
    threshold and its description (a table row has no column for them)."""

    assertions: tuple[Assertion, ...] = ()
    threshold: float | None = None
    description: str = ""

    @classmethod
    def of(cls, case: TestCase) -> CaseChecks:
        return cls(case.assertions, case.threshold, case.description)


@dataclass(frozen=True)
class SetChecks:
    """The case set's part: assertions every case gets, their threshold, the judge model."""

    default_assertions: tuple[Assertion, ...] = ()
    default_threshold: float | None = None
    judge: str | None = None

    @classmethod
    def of(cls, case_set: CaseSet) -> SetChecks:
        return cls(case_set.default_assertions, case_set.default_threshold, case_set.judge)


@dataclass(frozen=True)
class Workspace:
    """Everything the window shows for one session."""

    session: Session
    prompt: Prompt
    history: list[PromptVersion]  # oldest first
    case_set: CaseSet
    draft: Draft | None
    run: Run | None  # the latest comparison
    outputs: list[Output]
    ratings: list[Rating]
    preferences: list[Preference]
    variants: tuple[SessionVariant, ...] = DEFAULT_VARIANTS  # the variants table's rows

    @property
    def latest(self) -> PromptVersion | None:
        return self.history[-1] if self.history else None


class WorkspaceService:
    def __init__(self, store: Store):
        self.store = store

    # -- sessions ------------------------------------------------------------------------

    def create_session(self, name: str) -> Workspace:
        with self.store.transaction():
            session = self.store.sessions.add(Session(name))
            self.store.prompts.add_prompt(Prompt(session.id, MAIN_PROMPT))
            self.store.case_sets.save(CaseSet(session.id, MAIN_CASES))
        return self.open(session.id)

    def sessions(self) -> list[Session]:
        return self.store.sessions.list()

    def rename(self, session_id: str, name: str) -> Session:
        return self.store.sessions.rename(session_id, name)

    def delete(self, session_id: str) -> None:
        self.store.sessions.delete(session_id)

    def open(self, session_id: str) -> Workspace:
        run_state.find_interrupted(self.store)  # the latest run says so if its process died
        with self.store.transaction():
            session = self.store.sessions.get(session_id)
            prompts = self.store.prompts.prompts(session_id)
            prompt = prompts[0] if prompts else self.store.prompts.add_prompt(
                Prompt(session_id, MAIN_PROMPT))
            sets = self.store.case_sets.for_session(session_id)
            case_set = sets[0] if sets else self.store.case_sets.save(CaseSet(session_id, MAIN_CASES))
            runs = self.store.runs.for_session(session_id)
            run = runs[-1] if runs else None
            outputs = self.store.runs.outputs(run.id) if run else []
            ids = [o.id for o in outputs]
            history = self.store.prompts.history(prompt.id)
            return Workspace(
                session=session, prompt=prompt, history=history,
                case_set=case_set, draft=self.store.drafts.get(session_id, COMPOSER_DRAFT),
                run=run, outputs=outputs, ratings=self.store.ratings.ratings_for(ids),
                preferences=self.store.ratings.preferences_for(ids),
                variants=tuple(self.store.session_variants.get(session_id)
                               or _run_variants(run, history, self.store) or DEFAULT_VARIANTS),
            )

    # -- versions ------------------------------------------------------------------------

    def save_version(self, prompt_id: str, system_prompt: str, examples: list[FewShotExample],
                     user_template: str, *, parent_id: str | None, note: str = "",
                     ) -> PromptVersion:
        """A new immutable version, unless the content equals the latest one (then that one:
        a note alone changes nothing the model sees, and versions never change)."""
        latest = self.store.prompts.latest(prompt_id)
        wanted = content_hash(system_prompt, examples, user_template)
        if latest is not None and latest.content_hash == wanted:
            return latest
        version = PromptVersion(prompt_id, system_prompt, tuple(examples), user_template,
                                parent_id=parent_id, note=note)
        with self.store.transaction():
            self.store.prompts.save_version(version)
            session = self._session_of(prompt_id)
            self.store.drafts.discard(session, COMPOSER_DRAFT)
            self.store.sessions.touch(session)
        return version

    def fork(self, version: PromptVersion, name: str) -> tuple[Prompt, PromptVersion]:
        """A new prompt line in the same session, starting from this version."""
        with self.store.transaction():
            session_id = self._session_of(version.prompt_id)
            prompt = self.store.prompts.add_prompt(Prompt(session_id, name))
            copy = self.store.prompts.save_version(PromptVersion(
                prompt.id, version.system_prompt, version.examples, version.user_template,
                parent_id=version.id, note=f"forked from {version.id[:8]}"))
        return prompt, copy

    def history(self, prompt_id: str) -> list[PromptVersion]:
        """The prompt line's versions, oldest first."""
        return self.store.prompts.history(prompt_id)

    def version(self, version_id: str) -> PromptVersion:
        return self.store.prompts.version(version_id)

    def _session_of(self, prompt_id: str) -> str:
        return self.store.prompts.prompt(prompt_id).session_id

    # -- cases and drafts ----------------------------------------------------------------

    def save_cases(self, case_set: CaseSet, rows: list[tuple[dict[str, str], str | None]],
                   checks: list[CaseChecks] | None = None,
                   defaults: SetChecks | None = None) -> CaseSet:
        """Store the table's rows as the set's cases. ``checks``: each row's assertions,
        threshold and description (None: each row keeps what the case at its place had, so
        a caller that only knows values loses no assertions); ``defaults``: the set's own
        assertions and judge (None: kept). An empty cell is a value not given, not an empty
        text: it is left out of the case's variables, so a run names it instead of sending
        the prompt without it (a suite's ``vars: {x: ""}`` is a value: suite_session)."""
        existing = list(case_set.cases)
        cases = []
        for index, (variables, expected) in enumerate(rows):
            old = existing[index] if index < len(existing) else None
            kept = checks[index] if checks is not None and index < len(checks) else (
                CaseChecks.of(old) if old is not None and checks is None else CaseChecks())
            given = {name: value for name, value in variables.items() if value != ""}
            case = TestCase(case_set.id, given, expected or None,
                            assertions=tuple(kept.assertions), threshold=kept.threshold,
                            description=kept.description,
                            # promptfoo's transforms: kept, not edited here
                            options=dict(old.options if old is not None
                                         else case_set.default_options))
            cases.append(replace(case, id=old.id) if old is not None else case)
        if defaults is not None:
            case_set = replace(case_set, default_assertions=tuple(defaults.default_assertions),
                               default_threshold=defaults.default_threshold,
                               judge=defaults.judge or None)
        return self.store.case_sets.save(replace(case_set, cases=tuple(cases)))

    def save_draft(self, session_id: str, content: dict) -> None:
        self.store.drafts.save(Draft(session_id, COMPOSER_DRAFT, content))

    # -- variants ------------------------------------------------------------------------

    def variants(self, session_id: str) -> list[SessionVariant]:
        """The session's saved variants table (empty when it never saved one)."""
        return list(self.store.session_variants.get(session_id) or ())

    def save_variants(self, session_id: str, variants: list[SessionVariant]) -> None:
        """The session's variants table as the user left it (NotFoundError: session gone)."""
        self.store.session_variants.save(session_id, list(variants))

    def create_prepared_session(self, name: str, *, user_template: str,
                                cases: list[tuple[dict[str, str], str | None]],
                                variants: list[SessionVariant], system_prompt: str = "",
                                note: str = "") -> Workspace:
        """A new session with its prompt, cases and variants ready to run, in one
        transaction (e.g. base vs. a tuned adapter over the tune job's held-out examples)."""
        with self.store.transaction():
            workspace = self.create_session(name)
            self.save_version(workspace.prompt.id, system_prompt, [], user_template,
                              parent_id=None, note=note)
            self.save_cases(workspace.case_set, cases)
            self.save_variants(workspace.session.id, variants)
        return self.open(workspace.session.id)

    # -- ratings -------------------------------------------------------------------------

    def rate(self, output_id: str, score: int, note: str = "", *, blind: bool = False) -> Rating:
        return self.store.ratings.rate(Rating(output_id, score, rater="me", blind=blind, note=note))

    def prefer(self, a: str, b: str, winner: str, *, blind: bool = True, note: str = "") -> Preference:
        return self.store.ratings.prefer(Preference(a, b, winner, rater="me", blind=blind, note=note))


def _run_variants(run: Run | None, history: list[PromptVersion], store: Store,
                  ) -> list[SessionVariant]:
    """The variants of the session's latest run as table rows: what a session saved before
    variants were kept (database revision 0002) shows, so that table and grid agree. A run
    of the newest version becomes "current" (the editor), as it most likely was."""
    if run is None:
        return []
    names = ModelNames.listed(store=store)  # the bundled model too, not its path
    latest = history[-1].id if history else None

    def version(version_id: str) -> str:
        return CURRENT_VERSION if version_id == latest else version_id

    return [SessionVariant(
        label=v.label, version=version(v.prompt_version_id),
        model=names.library_name(v.model_path) or v.model_path,
        adapter=v.adapter_path, adapter_scale=v.adapter_scale,
        temperature=v.sampling.temperature,
        seed=-1 if v.sampling.seed is None else v.sampling.seed, max_tokens=v.sampling.max_tokens,
        sampling_flags=format_sampling_flags(v.sampling, ("temperature", "seed", "max_tokens")),
        engine_flags=format_engine_flags(v.engine_settings)) for v in run.variants]
