"""A run's results as a JSON report and as JUnit XML: the files ``workbench eval --json`` and
``--junit`` write, and two of the formats File ▸ Export results offers, through the same
exporter hook a plugin's format uses."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from ...core.atomic_file import write_text_atomically
from ..contributions import Exporter
from ..hookspecs import hookimpl

__version__ = "1.0"


def write_json_report(path: str, rows: list[dict], summary: dict) -> None:
    """The run as one JSON document: the summary's keys (run and session ids, the report,
    from ``workbench eval`` the suite, exit code and errors), then ``results``: the rows."""
    document = {**summary, "results": rows}
    write_text_atomically(Path(path), json.dumps(document, indent=2, ensure_ascii=False,
                                                 default=str))


def junit_cases(rows: list[dict]) -> list[dict]:
    """The rows a test report lists: the cells the pass rate counts (one per case, repeat
    and variant; a branch or an output generated again is no test), else every answer
    generated first."""
    counted = [row for row in rows if row.get("counted")]
    return counted or [row for row in rows if not row.get("branch_of")]


def write_junit(path: str, rows: list[dict], summary: dict) -> None:
    """JUnit XML as CI systems read it: a test suite per variant, a test case per case and
    repeat; a failing verdict is a <failure> with its reason, a generation error an <error>.

    Names follow promptfoo's: the whole is named as the run is (a suite's description, as
    promptfoo names an eval; the file's name only when the suite has none), each test suite
    as promptfoo names a column (the provider's label, else its id, with the prompt's label
    when there are several)."""
    root = ElementTree.Element("testsuites", name=str(summary.get("run") or
                                                      summary.get("suite_name") or "results"))
    variants: dict[str, list[dict]] = {}
    for row in junit_cases(rows):
        variants.setdefault(row.get("variant") or row.get("model") or "variant", []).append(row)
    for variant, mine in variants.items():
        suite = ElementTree.SubElement(
            root, "testsuite", name=variant, tests=str(len(mine)),
            failures=str(sum(1 for r in mine if r.get("passed") is False and not r.get("error"))),
            errors=str(sum(1 for r in mine if r.get("error"))))
        for row in mine:
            title = row.get("description") or f"case {row.get('case') or '?'}"
            element = ElementTree.SubElement(
                suite, "testcase", classname=variant,
                name=f"{title} [repeat {int(row.get('repeat') or 0) + 1}]")
            if row.get("error"):
                ElementTree.SubElement(element, "error", message=str(row["error"])[:500])
            elif row.get("passed") is False:
                ElementTree.SubElement(element, "failure",
                                       message=str(row.get("reason") or "")[:500])
    ElementTree.indent(root)
    write_text_atomically(Path(path), ElementTree.tostring(root, encoding="unicode",
                                                           xml_declaration=True))


@hookimpl
def register_exporters(register):
    register(Exporter("JSON report", ".json", write_json_report, summary=True))
    register(Exporter("JUnit XML", ".xml", write_junit, summary=True))
