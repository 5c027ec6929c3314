"""Prompts, their immutable versions, and test-case sets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import select

from ...core.cases import CaseSet, TestCase
from ...core.errors import NotFoundError
from ...core.evaluation import Assertion
from ...core.prompts import FewShotExample, Prompt, PromptVersion
from ..database import Database
from ..schema import CaseSetRow, PromptRow, PromptVersionRow, TestCaseRow


def to_prompt(row: PromptRow) -> Prompt:
    return Prompt(session_id=row.session_id, name=row.name, id=row.id, created_at=row.created_at)


def to_version(row: PromptVersionRow) -> PromptVersion:
    return PromptVersion(
        prompt_id=row.prompt_id, system_prompt=row.system_prompt,
        examples=tuple(FewShotExample.from_dict(e) for e in row.examples),
        user_template=row.user_template, parent_id=row.parent_id, note=row.note, id=row.id,
        created_at=row.created_at,
    )


def version_row(version: PromptVersion) -> PromptVersionRow:
    return PromptVersionRow(
        id=version.id, prompt_id=version.prompt_id, system_prompt=version.system_prompt,
        examples=[e.to_dict() for e in version.examples], user_template=version.user_template,
        variables=list(version.variables), content_hash=version.content_hash,
        parent_id=version.parent_id, note=version.note, created_at=version.created_at,
    )


class PromptRepository:
    def __init__(self, db: Database):
        self.db = db

    def add_prompt(self, prompt: Prompt) -> Prompt:
        with self.db.transaction() as s:
            s.add(PromptRow(id=prompt.id, session_id=prompt.session_id, name=prompt.name,
                            created_at=prompt.created_at))
        return prompt

    def prompt(self, prompt_id: str) -> Prompt:
        with self.db.reading() as s:
            row = s.get(PromptRow, prompt_id)
            if row is None:
                raise NotFoundError(f"No prompt with id {prompt_id}.")
            return to_prompt(row)

    def prompts(self, session_id: str) -> list[Prompt]:
        with self.db.reading() as s:
            rows = s.scalars(select(PromptRow).where(PromptRow.session_id == session_id)
                             .order_by(PromptRow.created_at)).all()
            return [to_prompt(r) for r in rows]

    def save_version(self, version: PromptVersion) -> PromptVersion:
        """Store a new version. Versions are immutable: saving an existing id is refused."""
        with self.db.transaction() as s:
            if s.get(PromptVersionRow, version.id) is not None:
                raise ValueError(f"Prompt version {version.id} exists; versions never change.")
            s.add(version_row(version))
        return version

    def version(self, version_id: str) -> PromptVersion:
        with self.db.reading() as s:
            row = s.get(PromptVersionRow, version_id)
            if row is None:
                raise NotFoundError(f"No prompt version with id {version_id}.")
            return to_version(row)

    def history(self, prompt_id: str) -> list[PromptVersion]:
        """Oldest first."""
        with self.db.reading() as s:
            rows = s.scalars(select(PromptVersionRow).where(PromptVersionRow.prompt_id == prompt_id)
                             .order_by(PromptVersionRow.created_at)).all()
            return [to_version(r) for r in rows]

    def latest(self, prompt_id: str) -> PromptVersion | None:
        versions = self.history(prompt_id)
        return versions[-1] if versions else None


def to_assertions(stored: list | None) -> tuple[Assertion, ...]:
    return tuple(Assertion.from_dict(a) for a in stored or ())


def from_assertions(assertions: tuple[Assertion, ...]) -> list[dict]:
    return [a.to_dict() for a in assertions]


def to_case(row: TestCaseRow) -> TestCase:
    return TestCase(case_set_id=row.case_set_id, variables=dict(row.variables),
                    expected=row.expected, position=row.position, id=row.id,
                    assertions=to_assertions(row.assertions), threshold=row.threshold,
                    description=row.description or "", options=dict(row.options or {}))


def set_case_fields(row: TestCaseRow, case: TestCase, position: int) -> None:
    """Everything of the case that can change, copied onto its row."""
    row.position = position
    row.variables = dict(case.variables)
    row.expected = case.expected
    row.assertions = from_assertions(case.assertions)
    row.threshold = case.threshold
    row.description = case.description
    row.options = dict(case.options)


def case_set_defaults(case_set: CaseSet) -> dict:
    """The ``defaults`` column: what every case of the set gets (promptfoo's defaultTest)."""
    return {"assertions": from_assertions(case_set.default_assertions),
            "threshold": case_set.default_threshold, "judge": case_set.judge,
            "options": dict(case_set.default_options)}


def to_case_set(row: CaseSetRow, cases: tuple[TestCase, ...]) -> CaseSet:
    defaults = row.defaults or {}  # rows exported before revision 0004 hold {}
    threshold = defaults.get("threshold")
    return CaseSet(session_id=row.session_id, name=row.name, cases=cases, id=row.id,
                   created_at=row.created_at,
                   default_assertions=to_assertions(defaults.get("assertions")),
                   default_threshold=None if threshold is None else float(threshold),
                   judge=defaults.get("judge"), default_options=dict(defaults.get("options") or {}))


class CaseSetRepository:
    def __init__(self, db: Database):
        self.db = db

    def save(self, case_set: CaseSet) -> CaseSet:
        """Store the set and exactly these cases (rows removed from the set are deleted).

        Returns the set as stored: each case numbered by its place in the set.
        """
        case_set = replace(case_set, cases=tuple(
            replace(c, case_set_id=case_set.id, position=i) for i, c in enumerate(case_set.cases)))
        with self.db.transaction() as s:
            row = s.get(CaseSetRow, case_set.id)
            if row is None:
                s.add(CaseSetRow(id=case_set.id, session_id=case_set.session_id,
                                 name=case_set.name, created_at=case_set.created_at,
                                 defaults=case_set_defaults(case_set)))
            else:
                row.name = case_set.name
                row.defaults = case_set_defaults(case_set)
            s.flush()
            keep = {c.id for c in case_set.cases}
            for old in s.scalars(select(TestCaseRow).where(TestCaseRow.case_set_id == case_set.id)):
                if old.id not in keep:
                    s.delete(old)
            for position, case in enumerate(case_set.cases):
                case_row = s.get(TestCaseRow, case.id)
                if case_row is None:
                    case_row = TestCaseRow(id=case.id, case_set_id=case_set.id)
                    s.add(case_row)
                set_case_fields(case_row, case, position)
        return case_set

    def get(self, case_set_id: str) -> CaseSet:
        with self.db.reading() as s:
            row = s.get(CaseSetRow, case_set_id)
            if row is None:
                raise NotFoundError(f"No case set with id {case_set_id}.")
            cases = s.scalars(select(TestCaseRow).where(TestCaseRow.case_set_id == case_set_id)
                              .order_by(TestCaseRow.position)).all()
            return to_case_set(row, tuple(to_case(c) for c in cases))

    def cases(self, case_set_id: str, case_ids: Iterable[str]) -> dict[str, TestCase]:
        """Case id -> case, for those of ``case_ids`` in the set (a batch of an export's rows:
        a run of 10,000 cases never holds them all at once)."""
        ids = sorted(set(case_ids))
        found: dict[str, TestCase] = {}
        with self.db.reading() as s:
            for start in range(0, len(ids), 900):  # SQLite's variable limit
                found.update((row.id, to_case(row)) for row in s.execute(  # table rows
                    select(*TestCaseRow.__table__.c).where(
                        TestCaseRow.case_set_id == case_set_id,
                        TestCaseRow.id.in_(ids[start:start + 900]))))
        return found

    def case_ids(self, case_set_id: str) -> list[str]:
        """The set's case ids in order, without the cases."""
        with self.db.reading() as s:
            return list(s.scalars(select(TestCaseRow.id)
                                  .where(TestCaseRow.case_set_id == case_set_id)
                                  .order_by(TestCaseRow.position)))

    def for_session(self, session_id: str) -> list[CaseSet]:
        with self.db.reading() as s:
            ids = s.scalars(select(CaseSetRow.id).where(CaseSetRow.session_id == session_id)
                            .order_by(CaseSetRow.created_at)).all()
            return [self.get(i) for i in ids]
