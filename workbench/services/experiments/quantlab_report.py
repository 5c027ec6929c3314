"""The lab's report from its results dict alone (so results.json reopens it): one table, a
scatter plot of quality against decode speed with the Pareto front, and a recommendation."""

from __future__ import annotations

from ...core.model_info import human_bytes
from .report_doc import ReportDocument, new_figure, render_png

# KL divergence (nats, mean over positions) counted as "close to the reference": llama.cpp's
# perplexity tool reports Q8_0 well under 0.01 and Q4_K_M around 0.03–0.1 on 7B models, where
# the difference rarely shows in answers.
CLOSE_KLD = 0.05
HEADERS = ["Arm", "Size", "Peak memory", "pp t/s", "tg t/s", "KLD mean", "KLD p99",
           "Same top %", "Pass rate [95% CI]", "Status"]


def measured(results: dict) -> list[dict]:
    return [arm for arm in results.get("arms", []) if arm.get("status") == "done"]


def pareto_front(arms: list[dict]) -> list[dict]:
    """Arms no other arm beats on both decode speed (higher) and KLD (lower)."""
    points = [a for a in arms if a.get("tg_tps_mean") is not None
              and a.get("kld_mean") is not None]
    front = []
    for arm in points:
        beaten = any(o is not arm and o["tg_tps_mean"] >= arm["tg_tps_mean"]
                     and o["kld_mean"] <= arm["kld_mean"]
                     and (o["tg_tps_mean"] > arm["tg_tps_mean"] or o["kld_mean"] < arm["kld_mean"])
                     for o in points)
        if not beaten:
            front.append(arm)
    return sorted(front, key=lambda a: a["tg_tps_mean"])


def _need(arm: dict) -> int:
    return max(int(arm.get("memory") or 0), int(arm.get("size") or 0))


def _fits(arm: dict, machine: dict) -> bool:
    free = machine.get("free_ram")
    return free is None or _need(arm) <= free


def recommend(results: dict) -> str:
    """Rule: of the arms on the Pareto front that fit in free RAM (and, with a suite, whose
    pass rate is not below the reference's interval), the fastest within CLOSE_KLD nats of
    the reference; if none is that close, the closest one that fits."""
    arms = measured(results)
    reference = next((a for a in arms if a.get("reference") and not a.get("engine")), None)
    machine = results.get("machine", {})
    candidates = [a for a in pareto_front(arms) if _fits(a, machine)]
    if reference is not None and reference.get("pass_low") is not None:
        candidates = [a for a in candidates
                      if a.get("pass_rate") is None or a["pass_rate"] >= reference["pass_low"]]
    if not candidates:
        return ("No recommendation: no measured arm fits in this machine's free RAM."
                if arms else "No recommendation: no arm was measured.")
    close = [a for a in candidates if a["kld_mean"] <= CLOSE_KLD]
    choice = max(close, key=lambda a: a["tg_tps_mean"]) if close else \
        min(candidates, key=lambda a: a["kld_mean"])
    parts = [f"{choice['label']}:"]
    if reference is not None and choice is not reference:
        speed = choice["tg_tps_mean"] / reference["tg_tps_mean"]
        parts.append(f"within {choice['kld_mean']:.3f} nats (mean KLD) of "
                     f"{reference['type']} at {speed:.2f}× its decode speed, "
                     f"{reference['size'] / choice['size']:.1f}× smaller;")
    elif choice is reference:
        parts.append("no quantization is both close enough and faster than the reference "
                     f"here (closeness: mean KLD ≤ {CLOSE_KLD} nats);")
    free = machine.get("free_ram")
    if free is not None:
        parts.append(f"fits in RAM with {human_bytes(free - _need(choice))} to spare")
    if machine.get("free_vram") is not None:
        spare = machine["free_vram"] - int(choice.get("size") or 0)
        parts.append(f"and its weights {'fit' if spare > 0 else 'do not fit'} in free VRAM"
                     + (f" with {human_bytes(spare)} to spare" if spare > 0 else ""))
    if not close:
        parts.append(f"(no arm is within {CLOSE_KLD} nats of the reference)")
    return " ".join(parts).rstrip(";") + "."


def _pm(mean, sd) -> str:
    if mean is None:
        return "—"
    return f"{mean:.1f} ± {sd or 0:.1f}"


def _pass(arm: dict) -> str:
    if arm.get("pass_rate") is None:
        return arm.get("pass_error", "—") if arm.get("pass_error") else "—"
    return (f"{100 * arm['pass_rate']:.0f}% [{100 * arm['pass_low']:.0f}–"
            f"{100 * arm['pass_high']:.0f}] ({arm['passed']}/{arm['total']})")


def table_rows(results: dict) -> list[list[object]]:
    rows = []
    for arm in results.get("arms", []):
        done = arm.get("status") == "done"
        status = arm.get("status", "")
        if arm.get("error"):
            status = f"{status}: {arm['error']}"
        rows.append([
            arm["label"],
            human_bytes(arm["size"]) if arm.get("size") else "—",
            human_bytes(arm["memory"]) if done and arm.get("memory") is not None else "—",
            _pm(arm.get("pp_tps_mean"), arm.get("pp_tps_sd")) if done else "—",
            _pm(arm.get("tg_tps_mean"), arm.get("tg_tps_sd")) if done else "—",
            f"{arm['kld_mean']:.5f}" if done and arm.get("kld_mean") is not None else "—",
            f"{arm['kld_p99']:.4f}" if done and arm.get("kld_p99") is not None else "—",
            f"{arm['same_top']:.1f}" if done and arm.get("same_top") is not None else "—",
            _pass(arm),
            status,
        ])
    return rows


def scatter_png(results: dict) -> bytes | None:
    arms = [a for a in measured(results)
            if a.get("tg_tps_mean") is not None and a.get("kld_mean") is not None]
    if not arms:
        return None
    figure, axes = new_figure(8.0, 5.0)
    front = pareto_front(arms)
    biggest = max(_need(a) for a in arms) or 1
    # One marker per engine setting (a legend entry each), labels by type only: a file's arms
    # under several settings sit close together and full labels would overlap.
    engines = list(dict.fromkeys(arm.get("engine", "") for arm in arms))
    markers = dict(zip(engines, "o^sDvP*X"))
    for arm in arms:
        on_front = arm in front
        axes.scatter(arm["tg_tps_mean"], arm["kld_mean"], s=60 + 600 * _need(arm) / biggest,
                     alpha=0.6, color="#d62728" if on_front else "#1f77b4",
                     marker=markers.get(arm.get("engine", ""), "o"),
                     edgecolors="black" if on_front else "none")
        if arm.get("engine") == engines[0]:
            axes.annotate(arm["type"] + (" (ref)" if arm.get("reference") else ""),
                          (arm["tg_tps_mean"], arm["kld_mean"]), textcoords="offset points",
                          xytext=(8, 5), fontsize=8)
    if len(engines) > 1:
        for engine in engines:
            axes.scatter([], [], marker=markers.get(engine, "o"), color="#888888",
                         label=engine or "default engine settings")
    axes.plot([a["tg_tps_mean"] for a in front], [a["kld_mean"] for a in front], "--",
              color="#d62728", linewidth=1, label="Pareto front")
    # KLDs span orders of magnitude and the reference sits at 0: linear near 0, log above.
    axes.set_yscale("symlog", linthresh=1e-3)
    axes.set_ylim(bottom=0)
    axes.set_xlabel("decode speed (tg tokens/s, higher is better)")
    axes.set_ylabel("KL divergence from the reference\n(mean nats, lower is better)")
    axes.set_title("Quality against speed (point size = peak memory)")
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)
    return render_png(figure)


def build_report(results: dict) -> ReportDocument:
    config = results.get("config", {})
    document = ReportDocument(results.get("title", "Quantization lab"))
    if results.get("status") == "cancelled":
        document.paragraph("The lab was cancelled: the table shows what was measured before.")
    document.heading("Recommendation")
    document.paragraph(recommend(results))
    document.heading("Results")
    document.table(HEADERS, table_rows(results), caption=(
        f"Speed: {config.get('pp')} prompt tokens (pp) and {config.get('tg')} decoded tokens "
        f"(tg) per run, mean ± sd over {config.get('repeats')} runs, as llama-bench measures."))
    png = scatter_png(results)
    if png is not None:
        document.figure(png, "Quality against decode speed; the Pareto front in red",
                        name="quality-vs-speed")
    document.heading("How it was measured")
    reference = results.get("reference", {})
    notes = [results.get("reference_note", "")]
    if reference:
        notes.append(
            f"KL divergence and same-top-token % are read over {reference.get('positions')} "
            f"token positions of {reference.get('texts')} texts ("
            + {"suite": "the suite's prompts as the model receives them, in its chat "
                        f"template [{reference.get('template') or 'file'}], and their expected "
                        "answers",
               "given": "the texts given"}.get(reference.get("source"),
                                               "the built-in sample texts")
            + f"). The reference keeps its top {reference.get('top_k')} tokens per position "
            "and the mass of the rest; each arm's KL is computed over those buckets, a lower "
            "bound of the full-vocabulary KL (see docs/quantlab.md for how close it is).")
    notes.append("Peak memory is the measuring process's own peak resident memory after "
                 "loading and one warm-up decode, less its peak before loading (weights offloaded "
                 "to a GPU are not in it).")
    machine = results.get("machine", {})
    if machine.get("total_ram"):
        notes.append(f"This machine: {human_bytes(machine['free_ram'] or 0)} of "
                     f"{human_bytes(machine['total_ram'])} RAM free; {machine.get('gpu', '')}.")
    for note in notes:
        if note:
            document.paragraph(note)
    return document
