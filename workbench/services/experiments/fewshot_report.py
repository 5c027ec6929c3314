"""The few-shot vs fine-tune report, built from results.json alone (so a stored experiment can
be re-rendered): the plot of pass rate against examples for prompting and for tuning, a table of
the arms (pass rate with its Wilson interval, prompt tokens and latency per case), a table of
the adapters (training time), the paired test and the control, each in one sentence."""

from __future__ import annotations

from typing import Any

from .report_doc import ReportDocument, new_figure, render_png

KIND = {"prompt": "prompt", "adapter": "adapter", "both": "prompt + adapter",
        "control": "control"}


def build_document(results: dict[str, Any]) -> ReportDocument:
    name = results["name"]
    title = "Few-shot vs fine-tune" + ("" if name == "few-shot vs fine-tune" else f": {name}")
    doc = ReportDocument(title)
    duplicates = results.get("duplicates") or 0
    doc.paragraph(
        f"Model {_file(results['model'])}. {results['examples']} examples"
        + (f" ({duplicates} duplicate inputs removed before the split)" if duplicates else "")
        + f": {results['held_out']} held out, {results['training']} for training "
        f"(seed {results['seed']}). Every arm answered the same held-out cases "
        f"{results['repeats']} time(s) (seed + repeat, temperature {results['temperature']:g}, "
        f"at most {results['max_tokens']} tokens; the control once, greedy); an answer passes with "
        f"'{results['assertion']}' against the expected one.")
    if results.get("status") == "cancelled":
        doc.paragraph("The experiment was cancelled: what had finished is shown.")
    comparison = results.get("comparison")
    doc.paragraph(f"Best prompt arm against best adapter arm: {comparison['sentence']}."
                  if comparison else
                  "Best prompt arm against best adapter arm: not compared (one side has no "
                  "results).")
    control = results.get("control")
    if control:
        doc.paragraph(control["sentence"] + ".")
    failed = [a for a in results["arms"] if a["status"] in ("failed", "cancelled", "partial")]
    for arm in failed:
        doc.paragraph(f"{arm['status'].upper()}: {arm['label']} — {arm['error'] or 'no answers'}")

    arms = [a for a in results["arms"] if a["kind"] != "control"]
    if any(a.get("rate") is not None for a in arms):
        doc.heading("Pass rate against examples")
        doc.figure(_plot(arms), "Pass rate (95% Wilson interval) against the number of "
                   "examples: in the prompt (k-shot) or trained on (LoRA)", name="pass-rate")
    doc.heading("Arms")
    doc.table(["arm", "kind", "examples in prompt", "trained on", "passed", "pass rate",
               "95% interval", "prompt tokens / case", "latency / case (s)", "status"],
              [[a["label"], KIND.get(a["kind"], a["kind"]), a["k"], a["trained_on"] or None,
                f"{a['passed']}/{a['total']}" if a.get("total") else None, _percent(a.get("rate")),
                _interval(a), _number(a.get("prompt_tokens"), 1), _number(a.get("latency_s"), 3),
                a["status"]] for a in results["arms"]],
              caption="Each arm on the same held-out cases and seeds")
    if results.get("adapters"):
        doc.heading("Adapters")
        doc.table(["adapter", "training examples", "steps", "training time (s)", "status",
                   "note"],
                  [[r["label"], r["examples"], r["steps"], _number(r["seconds"], 1),
                    r["status"], r["error"][:200]] for r in results["adapters"]],
                  caption="Training time: trainer start, steps and export to a GGUF adapter")
    runs = ", ".join(run_id[:8] for run_id in results.get("run_ids") or []) or "none"
    doc.paragraph(f"Stored in {results['folder']}; the evaluation runs (one per adapter state) "
                  f"are in the session database (runs {runs}). Wall time "
                  f"{results['wall_s']:.0f} s.")
    return doc


def _plot(arms: list[dict]) -> bytes:
    figure, axes = new_figure(6.4, 3.8)
    zero = next((a for a in arms if a["kind"] == "prompt" and a["k"] == 0), None)
    prompt = [a for a in arms if a["kind"] == "prompt" and a.get("rate") is not None]
    tuned = [a for a in arms if a["kind"] == "adapter" and a.get("rate") is not None]
    if zero is not None and zero.get("rate") is not None and tuned:
        tuned = [{**zero, "trained_on": 0}, *tuned]  # no training examples: the base itself
    lines = (("prompting (k-shot)", prompt, "k", "o", "#1f77b4"),
             ("tuning (LoRA)", tuned, "trained_on", "s", "#d62728"))
    for label, points, x_key, marker, colour in lines:
        if not points:
            continue
        points = sorted(points, key=lambda a: a[x_key])
        # The LoRA line is nudged right a little: at equal k the two error bars stay apart.
        xs = [a[x_key] * 1.06 + 0.06 if x_key == "trained_on" else a[x_key] for a in points]
        ys = [a["rate"] for a in points]
        errors = [[a["rate"] - a["low"] for a in points], [a["high"] - a["rate"] for a in points]]
        axes.errorbar(xs, ys, yerr=errors, label=label, marker=marker, color=colour, capsize=4,
                      linewidth=1.6)
    failed = [a for a in arms if a["kind"] == "adapter" and a.get("rate") is None]
    for arm in failed:
        axes.plot([arm["trained_on"]], [0.0], marker="x", color="#d62728", markersize=10,
                  linestyle="none")
        axes.annotate(f"{arm['label']}: {arm['status']}", (arm["trained_on"], 0.0),
                      textcoords="offset points", xytext=(6, 6), fontsize=8, color="#d62728")
    # k is small and the whole training part large: a symlog axis keeps 0, 2, 4, 8 apart.
    shown = sorted({a["k"] for a in prompt} | {a["trained_on"] for a in tuned + failed})
    axes.set_xscale("symlog", linthresh=1.0)
    if shown:
        axes.set_xticks(shown, [str(x) for x in shown])
        axes.set_xlim(-0.3, max(shown) * 1.3 + 0.5)
    axes.set_xlabel("examples (in the prompt / trained on)")
    axes.set_ylabel("pass rate")
    axes.set_ylim(-0.05, 1.05)
    axes.grid(True, alpha=0.3)
    if prompt or tuned:
        axes.legend(loc="best", fontsize=8)
    return render_png(figure)


def _file(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _percent(value) -> str | None:
    return None if value is None else f"{value:.0%}"


def _interval(arm: dict) -> str | None:
    if arm.get("low") is None or not arm.get("total"):
        return None
    return f"{arm['low']:.0%} – {arm['high']:.0%}"


def _number(value, digits: int) -> str | None:
    return None if value is None else f"{value:.{digits}f}"
