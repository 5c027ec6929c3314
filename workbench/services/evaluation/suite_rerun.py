"""A suite run again joins the session of its earlier runs.

``workbench eval suite.yaml`` stores the suite as a session named ``eval: <title>``. Run again,
the same file (same title, same path however it is written) adds its run to that session
instead of making another one of the same name, so the session holds the suite's history of
runs and the Evaluation tab's trend has more than one point.

What the file says now is what the new run uses: a prompt that is unchanged keeps its version
(a changed one becomes a new version of the session's prompt), the cases keep their case set
when every test is as before (changed tests make a new case set in the session: the trend
compares runs over the same cases only), and the session's variants become the new ones.
"""

from __future__ import annotations

import os

from ...core.cases import CaseSet
from ...core.prompts import Prompt, PromptVersion
from ...core.suites import StoredSuite, Suite
from ...store import Store
from .suite_session import (
    SuiteInSession,
    case_set_of,
    session_name,
    session_variants,
    source_path_of,
    store_suite,
    suite_title,
    version_of,
)


def store_or_join(store: Store, suite: Suite, *, yaml_text: str = "") -> SuiteInSession:
    """The suite in its session: the one of its earlier runs when there is one, else a new
    one (``store_suite``)."""
    title = suite_title(suite)
    earlier = earlier_suite(store, title, source_path_of(suite))
    if earlier is None:
        return store_suite(store, suite, yaml_text=yaml_text)
    return join(store, earlier, suite, title, yaml_text)


def earlier_suite(store: Store, title: str, source_path: str) -> StoredSuite | None:
    """The latest stored suite of the same file and title whose session still carries the
    suite's name (a session the user renamed, or that ``workbench improve`` took for its job,
    is theirs now)."""
    if not source_path:
        return None  # a suite given as text has no file to be the same as
    wanted = _same_file(source_path)
    for session in store.sessions.list():  # the most recently used first
        if session.name != session_name(title):
            continue
        for stored in reversed(store.evaluations.suites(session.id)):
            if stored.name == title and _same_file(stored.source_path) == wanted:
                return stored
    return None


def join(store: Store, earlier: StoredSuite, suite: Suite, title: str,
         yaml_text: str) -> SuiteInSession:
    """The suite as it is now, stored into ``earlier``'s session (one transaction)."""
    session = store.sessions.get(earlier.session_id)
    with store.transaction():
        line = _prompt_line(store, session.id, title)
        versions = _versions(store, line, suite)
        case_set = _case_set(store, earlier, suite, title)
        stored = earlier
        if earlier.yaml_text != yaml_text or earlier.case_set_id != case_set.id:
            # the file's text as this run read it: the run can always say what it ran
            stored = store.evaluations.add_suite(StoredSuite(
                session.id, case_set.id, title, source_path=source_path_of(suite),
                yaml_text=yaml_text))
        store.session_variants.save(session.id, session_variants(suite, versions))
        store.sessions.touch(session.id)
    return SuiteInSession(store.sessions.get(session.id), tuple(versions), case_set, stored)


def _prompt_line(store: Store, session_id: str, title: str) -> Prompt:
    for line in store.prompts.prompts(session_id):
        if line.name == title:
            return line
    return store.prompts.add_prompt(Prompt(session_id, title))


def _versions(store: Store, line: Prompt, suite: Suite) -> list[PromptVersion]:
    """Each suite prompt's version: an identical one already in the line, else a new one
    after the line's latest."""
    history = store.prompts.history(line.id)
    parent = history[-1].id if history else None
    versions = []
    for prompt in suite.prompts:
        fresh = version_of(prompt, line.id, parent)
        same = next((v for v in reversed(history) if _content(v) == _content(fresh)), None)
        if same is None:
            same = store.prompts.save_version(fresh)
            history.append(same)
            parent = same.id
        versions.append(same)
    return versions


def _content(version: PromptVersion) -> tuple:
    return (version.system_prompt, version.user_template,
            tuple(repr(sorted(e.to_dict().items())) for e in version.examples))


def _case_set(store: Store, earlier: StoredSuite, suite: Suite, title: str) -> CaseSet:
    """The earlier runs' case set when the tests are unchanged, else a new one."""
    fresh = case_set_of(suite, earlier.session_id, title)
    kept = store.case_sets.get(earlier.case_set_id)
    if _tests(kept) == _tests(fresh):
        return kept
    return store.case_sets.save(fresh)


def _tests(case_set: CaseSet) -> tuple:
    """Everything of a case set that decides what its runs check, ids left out."""
    defaults = (tuple(repr(a.to_dict()) for a in case_set.default_assertions),
                case_set.default_threshold, case_set.judge,
                tuple(sorted(case_set.default_options.items())))
    cases = tuple((tuple(sorted(case.variables.items())), case.expected,
                   tuple(repr(a.to_dict()) for a in case.assertions), case.threshold,
                   case.description, tuple(sorted(case.options.items())))
                  for case in sorted(case_set.cases, key=lambda c: c.position))
    return defaults, cases


def _same_file(path: str) -> str:
    """A path as one file has it, however it was written (relative, through a link)."""
    return os.path.realpath(path) if path else ""
