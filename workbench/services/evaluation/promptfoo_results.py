"""A stored eval run in promptfoo's results layout (``workbench eval --output results.json``), the
file ``promptfoo eval -o results.json`` writes, so ``promptfoo import`` (then ``promptfoo view``,
``promptfoo share``, ``promptfoo show``) opens a Workbench run.

The layout is promptfoo's ``OutputFile`` (src/types: ``evalId``, ``results`` an
``EvaluateSummaryV3`` — ``version: 3``, ``timestamp``, ``prompts``, ``results``, ``stats`` —
``config``, ``shareableUrl``, ``metadata``, ``vars``, ``runtimeOptions``), read from promptfoo
0.123.1 and checked against it by ``tests/conformance/run.py`` (``promptfoo import`` accepts the
file and ``promptfoo export`` gives the same rows back). What follows promptfoo's own rules:

- a column (``prompts[i]``, ``results[].promptIdx``) is a provider × prompt, provider-major
  (promptfoo's order; the app's variants are prompt-major);
- ``testIdx`` counts tests × repeats, a test's repeats in a row;
- ``promptId`` is the sha256 of the prompt's label, as promptfoo's ``generateIdFromPrompt``;
- ``failureReason`` is 0 (passed), 1 (an assertion failed), 2 (the output failed to generate),
  and ``error`` carries the failing reason either way, as promptfoo writes it.

Prompt Workbench's own facts (the repeat, the seed, the variant's label, the run) are kept under
each result's ``metadata.workbench`` and the file's ``metadata.workbench``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ...core.atomic_file import open_atomically
from ...core.errors import WorkbenchError
from ...core.evaluation import AssertionResult, EvalResult, VerdictCell
from ...core.json_stream import dump_json_with_list, stream_here
from ...core.retrieved_context import compose
from ...core.runs import Output, Run
from ...store import Store
from ..retrieval_context import sent_variables
from .pass_rates import counted
from .promptfoo_totals import ASSERT, ERROR, PASSED, Totals

VERSION = 3  # EvaluateSummaryV3
BATCH = 500  # rows built from the store at a time
SECRET_KEYS = {"apikey", "api_key", "authorization", "password", "token"}


def promptfoo_results(store: Store, run: Run, *, exit_code: int | None = None) -> dict[str, Any]:
    """The run as promptfoo's ``OutputFile`` (a dict ready for ``json.dumps``). It holds every
    row: a file is written by ``write_promptfoo_results``, in one batch of memory."""
    export = _Export(store, run)
    rows = list(export.rows())
    return export.document(rows, exit_code)


def write_promptfoo_results(store: Store, run: Run, path: str | Path,
                            exit_code: int | None = None) -> None:
    """``promptfoo_json``'s text written to ``path`` (whole or not at all) without holding the
    run: the rows are built a batch at a time and spooled to a temporary file while the sums
    that precede them in the file (each column's metrics) add up, then copied in place."""
    export = _Export(store, run)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for row in export.rows():
            spool.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        spool.seek(0)
        with open_atomically(Path(path)) as file:
            dump_json_with_list(file, export.document(stream_here(), exit_code),
                                (json.loads(line) for line in spool),
                                ensure_ascii=False, default=str)


def promptfoo_json(store: Store, run: Run, exit_code: int | None = None) -> str:
    """``promptfoo_results`` as the text of a results file."""
    return json.dumps(promptfoo_results(store, run, exit_code=exit_code), indent=2,
                      ensure_ascii=False, default=str)


class _Export:
    """One run's results file in the making: the columns, the cells to write in promptfoo's
    order (test, then column), and the sums of the rows written so far."""

    def __init__(self, store: Store, run: Run):
        self.store, self.run = store, run
        self.eval_run = store.evaluations.eval_run(run.id)
        stored = (store.evaluations.suite(self.eval_run.suite_id)
                  if self.eval_run is not None and self.eval_run.suite_id else None)
        config = _config(stored.yaml_text if stored else "", run)
        self.repeats = self.eval_run.repeats if self.eval_run is not None else 1
        self.columns = _columns(store, run, config)
        self.config = _used_providers(config, self.columns)
        self.totals = {column["index"]: Totals() for column in self.columns.values()}
        self.stats = Totals()
        self.variables: dict[str, None] = {}

    def rows(self) -> Iterator[dict[str, Any]]:
        """The rows in the file's order, ``BATCH`` read from the store at a time, each added
        to its column's sums and the eval's as it goes."""
        cells = self._cells()
        for start in range(0, len(cells), BATCH):
            batch = cells[start:start + BATCH]
            ids = [cell.output_id for _, cell in batch]
            outputs = self.store.runs.outputs_by_id(ids)
            results = self.store.evaluations.results_for(ids)
            cases = self.store.case_sets.cases(self.run.case_set_id,
                                               {cell.case_id for _, cell in batch})
            for test_idx, cell in batch:
                output, result = outputs.get(cell.output_id), results.get(cell.output_id)
                if output is None or result is None:
                    continue
                row = _row(self.store, result, output, cases[cell.case_id],
                           self.columns[cell.variant_id], test_idx)
                self.totals[row["promptIdx"]].add(row)
                self.stats.add(row)
                self.variables.update(dict.fromkeys(row["vars"]))
                yield row

    def _cells(self) -> list[tuple[int, VerdictCell]]:
        """(testIdx, cell) of each counted cell (one per cell, no branch) whose column and
        case are known, in the file's order: by test, then column (a stable sort of the
        cells' own order, as promptfoo's)."""
        case_ids = (self.store.case_sets.case_ids(self.run.case_set_id)
                    if self.run.case_set_id else [])
        positions = {case_id: number for number, case_id in enumerate(case_ids)}
        cells = [(positions[cell.case_id] * self.repeats + cell.repeat, cell)
                 for cell in counted(self.store.evaluations.cells(self.run.id))
                 if cell.variant_id in self.columns and cell.case_id in positions]
        cells.sort(key=lambda item: (item[0], self.columns[item[1].variant_id]["index"]))
        return cells

    def document(self, rows: Any, exit_code: int | None) -> dict[str, Any]:
        """The whole file, ``rows`` in its place; the sums are those of the rows written."""
        run, created = self.run, _utc(self.run.created_at)
        prompts = [_completed_prompt(column, self.totals[column["index"]]) for column in
                   sorted(self.columns.values(), key=lambda c: c["index"])]
        stats = self.stats.stats()
        if run.finished_at is not None:
            stats["durationMs"] = max(0, round(
                (run.finished_at - run.created_at).total_seconds() * 1000))
        return {
            "evalId": f"eval-{run.id.replace('-', '')[:3]}-{created[:19]}",
            "results": {"version": VERSION, "timestamp": created, "prompts": prompts,
                        "results": rows, "stats": stats},
            "config": self.config,
            "shareableUrl": None,
            "metadata": {"exportedAt": _utc(datetime.now(UTC)), "evaluationCreatedAt": created,
                         "platform": platform.system().lower(), "arch": platform.machine(),
                         "workbench": {"version": _app_version(), "run_id": run.id,
                                       "exit_code": exit_code, "repeats": self.repeats}},
            "vars": list(self.variables),
            "runtimeOptions": {"repeat": self.repeats, "cache": False,
                               "eventSource": "workbench"},
        }


# -- the parts -----------------------------------------------------------------------------

def _columns(store: Store, run: Run, config: dict) -> dict[str, dict[str, Any]]:
    """Variant id -> its column: promptfoo's index (provider-major), the prompt, the provider.
    The app's variants are prompt-major: prompt i, provider j is variant i * providers + j."""
    variants = sorted(run.variants, key=lambda v: v.position)
    version_ids = list(dict.fromkeys(v.prompt_version_id for v in variants))
    per_prompt = max(1, len(variants) // max(1, len(version_ids)))
    prompt_labels = _prompt_labels(config, len(version_ids))
    providers = config.get("providers") if isinstance(config.get("providers"), list) else []
    columns = {}
    for variant in variants:
        prompt_idx = version_ids.index(variant.prompt_version_id)
        provider_idx = variant.position - prompt_idx * per_prompt
        written = (providers[provider_idx] if len(providers) == per_prompt
                   and 0 <= provider_idx < len(providers) else None)
        try:
            version = store.prompts.version(variant.prompt_version_id)
        except WorkbenchError:
            version = None
        template = version.user_template if version is not None else ""
        prompt_label = prompt_labels[prompt_idx] if prompt_idx < len(prompt_labels) else template
        named = _provider_part(variant.label, prompt_label if len(version_ids) > 1 else None)
        ident, label = _provider_names(written, named)
        columns[variant.id] = {
            "index": provider_idx * len(version_ids) + prompt_idx, "version": version,
            "template": template, "label": prompt_label, "provider_id": ident,
            "provider_label": label, "variant": variant.label,
            "prompt_id": hashlib.sha256(prompt_label.encode()).hexdigest()}
    return columns


def _used_providers(config: dict, columns: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """promptfoo's ``config`` lists the providers the eval ran (``--providers`` replaces the
    file's): where the run's are not the file's (``workbench eval -m``), theirs."""
    used = list(dict.fromkeys((column["provider_id"], column["provider_label"]) for column in
                              sorted(columns.values(), key=lambda c: c["index"])))
    written = config.get("providers") if isinstance(config.get("providers"), list) else []
    if [_written_names(item) for item in written] == used or not used:
        return config
    return {**config, "providers": [{"id": ident, "label": label} if label else ident
                                    for ident, label in used]}


def _prompt_labels(config: dict, count: int) -> list[str]:
    """promptfoo's prompt labels: a text is its own label, an object its label (or id, or
    raw), a map {text: label} its values; a chat or file its reference."""
    written = config.get("prompts")
    if isinstance(written, str):
        written = [written]
    if isinstance(written, dict):
        return [str(label if label is not None else raw) for raw, label in written.items()]
    if not isinstance(written, list) or len(written) != count:
        return []
    labels = []
    for item in written:
        if isinstance(item, dict):
            labels.append(str(item.get("label") or item.get("id") or _text(item.get("raw"))))
        else:
            labels.append(_text(item))
    return labels


def _provider_part(variant_label: str, prompt_label: str | None) -> str:
    """The provider's name in a variant's label (``spec_label``: "PROMPT · PROVIDER" when the
    suite has several prompts, else the provider's label or id)."""
    if prompt_label is None:
        return variant_label
    prefix = f"{prompt_label} · "
    if variant_label.startswith(prefix):
        return variant_label[len(prefix):]
    return variant_label.split(" · ", 1)[-1]


def _written_names(written: Any) -> tuple[str | None, str]:
    """(id, label) of a provider as the suite wrote it: a text, ``{id, label, …}``, or
    promptfoo's ``{MODEL: {config…}}``."""
    if isinstance(written, str):
        return written, ""
    if isinstance(written, dict) and len(written) == 1 and "id" not in written:
        inner = next(iter(written.values()))
        label = inner.get("label") if isinstance(inner, dict) else None
        return str(next(iter(written))), str(label or "")
    if isinstance(written, dict) and written.get("id"):
        return str(written["id"]), str(written.get("label") or "")
    return None, ""


def _provider_names(written: Any, named: str) -> tuple[str, str]:
    """promptfoo's provider ``{id, label}`` of a column: as the suite wrote it when the column
    ran that provider (the column is named by its label, else by its id, with the retrieval
    the column adds), else the name the run gave the model — the ``-m MODEL`` text, which
    is what promptfoo's ``--providers MODEL`` makes the id, with no label. Never the model's
    file path: promptfoo reports a provider by its id."""
    ident, label = _written_names(written)
    if ident is not None and (named == (label or ident)
                              or not label and named.startswith(f"{ident} · ")):
        return ident, label
    return named, ""


def _row(store: Store, result: EvalResult, output: Output, case, column: dict,
         test_idx: int) -> dict[str, Any]:
    verdict = result.verdict
    latency_ms = round((output.total_s or 0.0) * 1000)
    usage = _usage(output)
    failure = ERROR if verdict.error else (PASSED if verdict.passed else ASSERT)
    components = [part for r in verdict.results for part in _components(r)]
    grading = None if verdict.error else {
        "pass": verdict.passed, "score": verdict.score,
        "reason": "All assertions passed" if verdict.passed else verdict.reason,
        "namedScores": _named_scores(verdict.results), "tokensUsed": _usage(None),
        "componentResults": components}
    test_case: dict[str, Any] = {"description": case.description, "vars": dict(case.variables),
                                 "assert": [a.to_dict() for a in case.assertions],
                                 "options": {}, "metadata": {}}
    if case.threshold is not None:
        test_case["threshold"] = case.threshold
    if not case.description:
        del test_case["description"]
    variables, text, raw = _as_checked(store, column, output, case)
    response = None if output.error else {
        "output": text, "tokenUsage": usage, "cached": False, "latencyMs": latency_ms,
        "finishReason": output.finish_reason or "stop"}
    row: dict[str, Any] = {
        "cost": 0, "error": verdict.error or (None if verdict.passed else verdict.reason),
        "gradingResult": grading, "id": result.id, "latencyMs": latency_ms,
        "namedScores": _named_scores(verdict.results),
        "prompt": {"raw": raw, "label": column["label"], "config": {}},
        "promptId": column["prompt_id"], "promptIdx": column["index"],
        "provider": _provider(column),
        "response": response, "score": verdict.score, "success": verdict.passed,
        "testCase": test_case, "testIdx": test_idx, "tokenUsage": usage,
        "vars": variables, "failureReason": failure,
        "metadata": {"workbench": {"repeat": result.repeat, "seed": output.seed,
                                   "variant": column["variant"], "output_id": output.id,
                                   "case_id": case.id}}}
    if case.description:
        row["description"] = case.description
    if response is None:
        del row["response"]
    return row


def _provider(column: dict) -> dict[str, str]:
    """promptfoo's ``{id: provider.id(), label: provider.label}``: a provider without a label
    has no ``label`` key (JSON leaves out what is undefined)."""
    provider = {"id": column["provider_id"]}
    if column["provider_label"]:
        provider["label"] = column["provider_label"]
    return provider


def _component(result: AssertionResult) -> dict[str, Any]:
    return {"pass": result.passed, "score": result.score,
            "reason": result.reason or ("Assertion passed" if result.passed
                                        else "Assertion failed"),
            "assertion": result.assertion.to_dict()}


def _components(result: AssertionResult) -> list[dict[str, Any]]:
    """An assertion's componentResults: one, or for an assert-set promptfoo's two levels —
    the set (no ``assertion``, ``metadata.assertionSet``, its members inside) followed by
    its members again, flattened."""
    children = getattr(result, "children", ())
    if not children:
        return [_component(result)]
    members = [_component(child) for child in children]
    threshold = result.assertion.threshold
    reason = result.reason or ("All assertions passed" if threshold is None else
                               f"Aggregate score {result.score:.2f} ≥ {threshold:g} threshold")
    whole = {"pass": result.passed, "score": result.score, "reason": reason,
             "namedScores": _named_scores(children), "componentResults": members,
             "metadata": {"assertionSet": {"type": "assert-set",
                                           "assertionCount": len(members),
                                           "threshold": threshold}}}
    return [whole, *members]


def _named_scores(results) -> dict[str, float]:
    return {r.assertion.metric: r.score for r in results if r.assertion.metric}


def _as_checked(store: Store, column: dict, output: Output, case
                ) -> tuple[dict[str, str], str, str]:
    """The variables after the test's ``transformVars``, the output after its
    ``options.transform`` (promptfoo's ``response.output`` is the transformed one), and the
    prompt as sent. A transform that fails leaves the value as it was (the verdict says why)."""
    from .javascript import as_text, transform_output, transform_variables

    options = getattr(case, "options", None) or {}
    variables = dict(case.variables)
    if options.get("transformVars"):
        try:
            variables = transform_variables(options["transformVars"], variables)
        except WorkbenchError:
            pass
    raw = _rendered(store, column, output, variables)
    text = output.text
    if options.get("transform") and not output.error:
        try:
            text = as_text(transform_output(options["transform"], text, variables,
                                            {"raw": raw, "label": raw}))
        except WorkbenchError:
            pass
    return variables, text, raw


def _rendered(store: Store, column: dict, output: Output, variables: dict[str, str]) -> str:
    """The prompt as sent: the user message's text, or the chat as JSON (promptfoo's raw)."""
    version = column["version"]
    if version is None:
        return column["template"]
    try:
        messages = compose(version, sent_variables(store, output, variables))
    except WorkbenchError:
        return column["template"]
    if len(messages) == 1:
        return messages[0].content
    return json.dumps([m.to_dict() for m in messages], ensure_ascii=False)


def _usage(output: Output | None) -> dict[str, int]:
    prompt = output.prompt_tokens if output is not None else 0
    completion = output.token_count if output is not None else 0
    return {"total": prompt + completion, "prompt": prompt, "completion": completion,
            "cached": 0, "numRequests": 1 if output is not None else 0}


def _completed_prompt(column: dict, totals: Totals) -> dict[str, Any]:
    """promptfoo's CompletedPrompt: a column with its metrics."""
    return {"id": column["prompt_id"], "raw": column["template"], "label": column["label"],
            "provider": column["provider_label"] or column["provider_id"],
            "metrics": totals.metrics()}


def _config(yaml_text: str, run: Run) -> dict[str, Any]:
    """The suite as written (promptfoo's ``config``), secrets redacted as promptfoo does."""
    try:
        data = yaml.safe_load(yaml_text) if yaml_text else None
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        data = {"description": run.name}
    return _redacted(json.loads(json.dumps(data, default=str)))


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "[REDACTED]" if str(key).lower() in SECRET_KEYS and item else
                _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.astimezone(UTC).microsecond // 1000:03d}Z"


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("prompt-workbench")
    except PackageNotFoundError:
        return "unknown"
