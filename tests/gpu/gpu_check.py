"""The GPU check's measurements and table (tests/gpu/run.sh runs it on a GPU machine).

Through the real model host, on the bundled model and a larger one, every layer offloaded:
* decode tokens/s of one sequence against the memory-bandwidth limit: each token reads every
  offloaded weight once, so tokens/s ≤ bandwidth ÷ weight bytes per token;
* batched decoding at 1/4/8/16 sequences (generation tokens/s of all sequences together)
  against llama-batched-bench from the same llama.cpp build, same prompt and generation lengths;
* one LoRA training step on the GPU (the workbench trainer, a 1-step job).

``--dry-run`` runs the same code on the CPU (no offload, a bandwidth you state, llama.cpp's
figures parsed from a recorded llama-batched-bench table unless ``--batched-bench`` is given),
so that everything but the GPU is checked on any machine. Exit status 1 when a check failed.

    python tests/gpu/gpu_check.py --bandwidth-gbs 3350 --batched-bench build/bin/llama-batched-bench
    python tests/gpu/gpu_check.py --dry-run
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from workbench.core.generation import GenerationRequest, TokenEvent  # noqa: E402
from workbench.core.model_info import LoadSettings  # noqa: E402
from workbench.core.sampling import GREEDY  # noqa: E402
from workbench.engine.host.client import ModelHost  # noqa: E402
from workbench.library.bundled import bundled_model_path  # noqa: E402
from workbench.library.gguf_metadata import read_gguf_info  # noqa: E402

BATCHES = (1, 4, 8, 16)
PROMPT_TOKENS, GEN_TOKENS = 128, 64
RECORDED_TABLE = Path(__file__).with_name("batched_bench_sample.txt")

# Peak memory bandwidth (GB/s) by the name nvidia-smi reports, from NVIDIA's data sheets;
# --bandwidth-gbs overrides it (and is needed for a card not listed).
BANDWIDTH_GBS = {
    "H200": 4800, "H100 80GB HBM3": 3350, "H100 PCIe": 2000, "H100 NVL": 3900,
    "A100-SXM4-80GB": 2039, "A100 80GB PCIe": 1935, "A100-SXM4-40GB": 1555,
    "A100-PCIE-40GB": 1555, "L40S": 864, "L4": 300, "A10G": 600, "A10": 600, "T4": 320,
    "RTX 4090": 1008, "RTX 3090": 936, "RTX 6000 Ada": 960, "V100": 900,
}


@dataclass
class Row:
    check: str
    measured: str
    reference: str
    verdict: str  # "ok", a ratio, or "FAILED: why"


def card_bandwidth(name: str) -> float | None:
    """GB/s for the card nvidia-smi names, by the longest listed name it contains."""
    hits = [key for key in BANDWIDTH_GBS if key.lower() in name.lower()]
    return float(BANDWIDTH_GBS[max(hits, key=len)]) if hits else None


def weight_bytes_per_token(model: Path) -> int:
    """Every block and the output head are read once per token; the token embedding is only
    looked up (one row), so it is left out."""
    info = read_gguf_info(model)
    return info.layer_bytes * info.n_layers + info.output_bytes


def parse_batched_bench(text: str) -> dict[int, float]:
    """llama-batched-bench's markdown table → {parallel sequences B: generation tokens/s}."""
    header: list[str] | None = None
    speeds: dict[int, float] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "S_TG t/s" in cells:
            header = cells
        elif header and len(cells) == len(header) and cells[0].isdigit():
            row = dict(zip(header, cells))
            speeds[int(row["B"])] = float(row["S_TG t/s"])
    return speeds


def run_batched_bench(binary: Path, model: Path, gpu: bool) -> dict[int, float]:
    ctx = (PROMPT_TOKENS + GEN_TOKENS) * max(BATCHES)
    command = [str(binary), "-m", str(model), "-c", str(ctx), "-b", "2048", "-ub", "512",
               "-npp", str(PROMPT_TOKENS), "-ntg", str(GEN_TOKENS),
               "-npl", ",".join(map(str, BATCHES)), "-ngl", "99" if gpu else "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"llama-batched-bench failed ({done.returncode}): "
                           f"{done.stderr.strip().splitlines()[-1:]}")
    return parse_batched_bench(done.stdout + done.stderr)


def prompt_text(i: int) -> str:
    """About PROMPT_TOKENS tokens, different per sequence (no shared prefix to reuse)."""
    words = " ".join(f"item{i}-{n}" for n in range(PROMPT_TOKENS // 4))
    return f"<|im_start|>user\nSequence {i}: {words}<|im_end|>\n<|im_start|>assistant\n"


def start_host(model: Path, gpu: bool, parallel: int, logs: Path) -> ModelHost:
    settings = LoadSettings(str(model), n_ctx=PROMPT_TOKENS * 2 + GEN_TOKENS,
                            n_gpu_layers=999 if gpu else 0, n_parallel=parallel)
    host = ModelHost(settings, logs_dir=logs)
    host.start()
    meta = host.metadata
    if gpu and meta.gpu_layers_offloaded < meta.n_layers + 1:
        host.close()
        raise RuntimeError(f"only {meta.gpu_layers_offloaded} of {meta.n_layers + 1} layers "
                           "were offloaded: is this the CUDA build of llama.cpp?")
    return host


def generation_speed(host: ModelHost, sequences: int, tokens: int) -> float:
    """Generation tokens/s of ``sequences`` decoded together, from the moment every one of
    them has its first token (prompt evaluation left out, as llama-batched-bench's S_TG)."""
    requests = [GenerationRequest(prompt=prompt_text(i), sampling=GREEDY.with_(
        max_tokens=tokens, ignore_eos=True)) for i in range(sequences)]
    times: list[list[float]] = [[] for _ in requests]

    def drain(stream, stamps: list[float]) -> None:
        for event in stream:
            if isinstance(event, TokenEvent) and event.token_id >= 0:
                stamps.append(time.perf_counter())

    threads = [threading.Thread(target=drain, args=(stream, stamps))
               for stream, stamps in zip(host.generate_many(requests), times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if any(len(stamps) != tokens for stamps in times):
        raise RuntimeError(f"a sequence stopped early: {[len(s) for s in times]} tokens")
    start = max(stamps[0] for stamps in times)
    end = max(stamps[-1] for stamps in times)
    counted = sum(1 for stamps in times for t in stamps if t > start)
    return counted / (end - start)


def decode_row(label: str, model: Path, gpu: bool, bandwidth: float, logs: Path) -> Row:
    host = start_host(model, gpu, 1, logs)
    try:
        generation_speed(host, 1, 8)  # warm-up
        speed = statistics.median(generation_speed(host, 1, GEN_TOKENS * 2) for _ in range(3))
    finally:
        host.close()
    per_token = weight_bytes_per_token(model)
    limit = bandwidth * 1e9 / per_token
    return Row(f"decode, {label} ({per_token / 1e6:.0f} MB weights/token)",
               f"{speed:.0f} tok/s", f"limit {limit:.0f} tok/s at {bandwidth:.0f} GB/s",
               f"{speed / limit:.0%} of the limit")


def batched_rows(model: Path, gpu: bool, reference: dict[int, float], source: str,
                 logs: Path) -> list[Row]:
    host = start_host(model, gpu, max(BATCHES), logs)
    rows = []
    try:
        generation_speed(host, 1, 8)
        for n in BATCHES:
            ours = generation_speed(host, n, GEN_TOKENS)
            theirs = reference.get(n)
            rows.append(Row(f"batched decode, {n} sequence{'s' if n > 1 else ''}",
                            f"{ours:.0f} tok/s",
                            f"{theirs:.0f} tok/s {source}" if theirs else f"none {source}",
                            f"{ours / theirs:.2f}x" if theirs else "FAILED: no reference"))
    finally:
        host.close()
    return rows


def lora_row(gpu: bool, work: Path) -> Row:
    """One step of the workbench trainer on the bundled model, on the GPU (CPU in a dry run)."""
    from workbench.core.messages import ChatMessage
    from workbench.tuning.base_tokenizer import HostTokenizer
    from workbench.tuning.config import TuneSettings
    from workbench.tuning.formats import Example
    from workbench.tuning.job_files import JobFolder
    from workbench.tuning.rows import prepare
    from workbench.tuning.runner import TrainerProcess

    model = bundled_model_path()
    device = "cuda" if gpu else "cpu"
    settings = TuneSettings(rank=8, alpha=16, dropout=0.0, max_steps=1, batch_size=2,
                            max_length=128, checkpoint_every=10**6, eval_every=10**6,
                            val_fraction=0.0, device=device)
    examples = [Example((ChatMessage("user", f"Say {w}."), ChatMessage("assistant", w)),
                        "gpu-check", i + 1) for i, w in enumerate(("lantern", "harbor"))]
    host = ModelHost(LoadSettings(str(model), n_ctx=512, n_gpu_layers=0), logs_dir=work)
    host.start()
    try:
        rows = [r.to_wire() for r in prepare(HostTokenizer(host), examples, 128).rows]
    finally:
        host.close()
    folder = JobFolder(work / "lora-job")
    folder.create({"job_id": "gpu-check", "base_path": str(model), "settings": asdict(settings)},
                  rows, [])
    process = TrainerProcess(folder).start()
    used, loss, error = None, None, None
    for event in process.events():
        if event.event == "start":
            used = event.get("device")
        elif event.event == "step":
            loss = event.get("loss")
        elif event.event == "error":
            error = event.get("message")
    process.wait()
    if error or loss is None:
        return Row("LoRA step", "-", f"device {device}", f"FAILED: {error or 'no step ran'}")
    if not str(used).startswith(device):
        return Row("LoRA step", f"loss {loss:.3f}", f"device {device}",
                   f"FAILED: it trained on {used}")
    return Row("LoRA step", f"loss {loss:.3f} on {used}", f"device {device}", "ok")


def print_table(title: str, rows: list[Row]) -> None:
    widths = [max(len(getattr(r, f)) for r in rows + [Row("check", "measured", "reference",
                                                          "verdict")])
              for f in ("check", "measured", "reference", "verdict")]
    print(title)
    for row in [Row("check", "measured", "reference", "verdict"), *rows]:
        print("  ".join(getattr(row, f).ljust(w) for f, w in
                        zip(("check", "measured", "reference", "verdict"), widths)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="on the CPU: everything but the GPU, to check the script")
    parser.add_argument("--larger", type=Path, help="a larger GGUF model to offload too")
    parser.add_argument("--gpu-name", default="", help="the card, as nvidia-smi names it")
    parser.add_argument("--bandwidth-gbs", type=float, help="the card's memory bandwidth")
    parser.add_argument("--batched-bench", type=Path, help="llama-batched-bench of this build")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    gpu = not args.dry_run
    bandwidth = args.bandwidth_gbs or card_bandwidth(args.gpu_name) or (None if gpu else 20.0)
    if bandwidth is None:
        print(f"unknown memory bandwidth for '{args.gpu_name}': pass --bandwidth-gbs",
              file=sys.stderr)
        return 2
    models = [("bundled", bundled_model_path())]
    if args.larger:
        models.append((f"larger: {args.larger.name}", args.larger))
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    for label, model in models:
        rows.extend(_guarded(f"decode, {label}",
                             lambda lb=label, m=model: [decode_row(lb, m, gpu, bandwidth,
                                                                  work)]))
    if args.batched_bench:
        source = "(llama-batched-bench, same build)"
        reference = _reference(args.batched_bench, models[0][1], gpu)
    else:  # the parser runs on llama.cpp's sample table; no comparison is made
        source = "(README sample: format check only)"
        reference = parse_batched_bench(RECORDED_TABLE.read_text())
    batched = _guarded("batched decode", lambda: batched_rows(models[0][1], gpu, reference,
                                                              source, work))
    if not args.batched_bench:
        batched = [Row(r.check, r.measured, r.reference, "not compared (dry run)")
                   if not r.verdict.startswith("FAILED") else r for r in batched]
    rows.extend(batched)
    rows.extend(_guarded("LoRA step", lambda: [lora_row(gpu, work)]))
    where = f"{args.gpu_name or 'GPU'}, {bandwidth:.0f} GB/s" if gpu else \
        f"DRY RUN on the CPU (bandwidth {bandwidth:.0f} GB/s assumed, not measured)"
    print_table(f"GPU check: {where}", rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 1 if any(r.verdict.startswith("FAILED") for r in rows) else 0


def _reference(binary: Path, model: Path, gpu: bool) -> dict[int, float]:
    try:
        return run_batched_bench(binary, model, gpu)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"llama-batched-bench: {error}", file=sys.stderr)
        return {}


def _guarded(check: str, make) -> list[Row]:
    """A check that raises is a failed row with its reason, never a missing one."""
    try:
        return make()
    except Exception as error:  # noqa: BLE001 - any failure is reported in the table
        return [Row(check, "-", "-", f"FAILED: {type(error).__name__}: {error}")]


if __name__ == "__main__":
    sys.exit(main())
