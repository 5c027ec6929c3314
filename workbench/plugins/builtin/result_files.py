"""A run's results as a JSON report and as JUnit XML: the files ``workbench eval --json`` and
``--junit`` write, and two of the formats File ▸ Export results offers, through the same
exporter hook a plugin's format uses."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.etree import ElementTree

from ...core.atomic_file import open_atomically
from ...core.json_stream import dump_json_with_list, stream_here
from ..contributions import Exporter
from ..hookspecs import hookimpl

__version__ = "1.0"


def write_json_report(path: str, rows: Iterable[dict], summary: dict) -> None:
    """The run as one JSON document: the summary's keys (run and session ids, the report,
    from ``workbench eval`` the suite, exit code and errors), then ``results``: the rows,
    written one by one as they come (a run of any size costs one batch of memory)."""
    with open_atomically(Path(path)) as file:
        dump_json_with_list(file, {**summary, "results": stream_here()}, rows,
                            ensure_ascii=False, default=str)


def junit_cases(rows: Iterable[dict]) -> Iterator[dict]:
    """The rows a test report lists: the cells the pass rate counts (one per case, repeat
    and variant; a branch or an output generated again is no test), else every answer
    generated first. ``rows`` is read twice when none is counted."""
    if any(row.get("counted") for row in rows):
        return (row for row in rows if row.get("counted"))
    return (row for row in rows if not row.get("branch_of"))


def write_junit(path: str, rows: Iterable[dict], summary: dict) -> None:
    """JUnit XML as CI systems read it: a test suite per variant, a test case per case and
    repeat; a failing verdict is a <failure> with its reason, a generation error an <error>.

    Names follow promptfoo's: the whole is named as the run is (a suite's description, as
    promptfoo names an eval; the file's name only when the suite has none), each test suite
    as promptfoo names a column (the provider's label, else its id, with the prompt's label
    when there are several).

    A run of any size is written in one batch of memory: each variant's test cases go to a
    temporary file of their own as the rows come, and the suites are put together at the end
    (a suite's counts come before its cases)."""
    name = str(summary.get("run") or summary.get("suite_name") or "results")
    suites: dict[str, _Suite] = {}
    try:
        for row in junit_cases(rows):
            variant = row.get("variant") or row.get("model") or "variant"
            if variant not in suites:
                suites[variant] = _Suite(variant)
            suites[variant].add(row)
        with open_atomically(Path(path)) as file:
            file.write("<?xml version='1.0' encoding='utf-8'?>\n")
            if not suites:
                file.write(_tag("testsuites", {"name": name}))
                return
            file.write(_tag("testsuites", {"name": name}, opening=True))
            for suite in suites.values():
                suite.write_to(file)
            file.write("\n</testsuites>")
    finally:
        for suite in suites.values():
            suite.cases.close()


class _Suite:
    """One variant's <testsuite>: its counts, and its test cases so far in a temporary file,
    each as ElementTree writes it at its depth (``indent`` at level 2)."""

    def __init__(self, variant: str):
        self.variant = variant
        self.tests = self.failures = self.errors = 0
        self.cases = tempfile.TemporaryFile("w+", encoding="utf-8")

    def add(self, row: dict) -> None:
        self.tests += 1
        title = row.get("description") or f"case {row.get('case') or '?'}"
        element = ElementTree.Element("testcase", classname=self.variant,
                                      name=f"{title} [repeat {int(row.get('repeat') or 0) + 1}]")
        if row.get("error"):
            self.errors += 1
            ElementTree.SubElement(element, "error", message=str(row["error"])[:500])
        elif row.get("passed") is False:
            self.failures += 1
            ElementTree.SubElement(element, "failure",
                                   message=str(row.get("reason") or "")[:500])
        ElementTree.indent(element, level=2)
        self.cases.write("\n    " + ElementTree.tostring(element, encoding="unicode"))

    def write_to(self, file) -> None:
        file.write("\n  " + _tag("testsuite", {
            "name": self.variant, "tests": str(self.tests), "failures": str(self.failures),
            "errors": str(self.errors)}, opening=True))
        self.cases.seek(0)
        shutil.copyfileobj(self.cases, file)
        file.write("\n  </testsuite>")


def _tag(tag: str, attributes: dict[str, str], opening: bool = False) -> str:
    """An empty element as ElementTree writes it, or (``opening``) its start tag alone."""
    text = ElementTree.tostring(ElementTree.Element(tag, attributes), encoding="unicode")
    return text[:-len(" />")] + ">" if opening else text


@hookimpl
def register_exporters(register):
    register(Exporter("JSON report", ".json", write_json_report, summary=True))
    register(Exporter("JUnit XML", ".xml", write_junit, summary=True))
