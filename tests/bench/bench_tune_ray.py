"""The same tune job on this machine and on a local Ray cluster with 1 and 2 workers.

One 20-step job (bench_tune.py's rows: chat answers of a few to a few hundred tokens, the
bundled SmolLM2, rank 8 on q/k/v/o, effective batch 8), three ways: the local trainer process
(2 threads, batch 4 × 2 accumulated), Ray Train with 1 worker (2 CPUs, batch 4 × 2) and with
2 workers (1 CPU each, batch 4 × 1, DDP over gloo). Each reports

* wall time, from starting the process to its last event (the adapter home, for Ray),
* training tokens/s over steps 2…N (real tokens, warm-up left out),
* the fraction of the machine's fp32 matmul peak the trainer reaches: tokens/s × FLOPs per
  token (4 × non-embedding parameters: the forward and the input-gradient backward through
  the frozen weights, as estimate.py counts) ÷ a torch matmul measured in this run with the
  same threads,
* the overhead of going through Ray: wall time and tokens/s against the local process (the
  mean of a local run before the Ray runs and one after them).

    .venv/bin/python tests/bench/bench_tune_ray.py [--steps 20] [--rows 64]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_tune import arguments, bench_settings, token_rows  # noqa: E402
from tests.bench.timing import training_tokens_per_s  # noqa: E402
from tests.tuning.ray_head import running_head  # noqa: E402
from workbench.library.bundled import bundled_model_path  # noqa: E402
from workbench.tuning.config import TuneSettings, TuneWhere  # noqa: E402
from workbench.tuning.job_files import JobFolder  # noqa: E402
from workbench.tuning.runner import RAY_DRIVER_MODULE, TRAINER_MODULE, TrainerProcess  # noqa: E402


def matmul_flops(threads: int, n: int = 1024, repeats: int = 20) -> float:
    """fp32 FLOP/s of a torch matmul on ``threads`` threads: the best of a few tries."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(5):
        tick = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, time.perf_counter() - tick)
    return 2 * n**3 * repeats / best


def flops_per_token(model: Path) -> float:
    from workbench.tuning.base_model import inspect_base

    base = inspect_base(str(model))
    return 4 * (base.parameter_count - base.vocab_size * base.hidden_size)


def run_job(root: Path, name: str, model: Path, rows, settings: TuneSettings,
            where: TuneWhere) -> dict:
    folder = JobFolder(root / name)
    folder.create({"job_id": name, "base_path": str(model), "settings": asdict(settings),
                   "where": asdict(where)}, rows, [])
    module = RAY_DRIVER_MODULE if where.on_ray else TRAINER_MODULE
    started = time.perf_counter()
    tokens_per_s = training_tokens_per_s(TrainerProcess(folder, module=module).start(), name)
    return {"wall_s": time.perf_counter() - started, "tokens_per_s": tokens_per_s}


def main() -> None:
    args = arguments(steps=20)
    model = bundled_model_path()
    base = bench_settings(args.steps, grad_accum=2, threads=2)
    rows = token_rows(model, args.rows, base.max_length)
    per_token = flops_per_token(model)
    peak = matmul_flops(2)
    print(f"{len(rows)} rows, {args.steps} steps, effective batch 8; fp32 matmul peak on 2 "
          f"threads: {peak / 1e9:.1f} GFLOP/s; {per_token / 1e6:.0f} MFLOP per token", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results["local"] = run_job(root, "local", model, rows, base, TuneWhere())
        print(_line("local process", results["local"], per_token, peak), flush=True)
        with running_head() as address:
            one = TuneWhere(place="ray", address=address, workers=1, cpus_per_worker=2,
                            storage=str(root / "ray-storage"))
            results["ray1"] = run_job(root, "ray1", model, rows,
                                      replace(base, threads=None), one)
            print(_line("Ray, 1 worker × 2 CPUs", results["ray1"], per_token, peak), flush=True)
            two = replace(one, workers=2, cpus_per_worker=1)
            results["ray2"] = run_job(root, "ray2", model, rows,
                                      replace(base, grad_accum=1, threads=None), two)
            print(_line("Ray, 2 workers × 1 CPU", results["ray2"], per_token, peak), flush=True)
        # Local again, last: on a shared machine the load drifts, and a local run only before
        # the Ray ones once read as Ray being faster than the trainer process.
        results["local2"] = run_job(root, "local2", model, rows, base, TuneWhere())
        print(_line("local process, again", results["local2"], per_token, peak), flush=True)
    local = {key: (results["local"][key] + results["local2"][key]) / 2
             for key in ("wall_s", "tokens_per_s")}  # the mean of the runs before and after
    for key, label in (("ray1", "1 worker"), ("ray2", "2 workers")):
        r = results[key]
        print(f"overhead of Ray, {label}: wall {r['wall_s'] / local['wall_s'] - 1:+.0%}, "
              f"tokens/s {r['tokens_per_s'] / local['tokens_per_s'] - 1:+.0%}")


def _line(label: str, result: dict, per_token: float, peak: float) -> str:
    fraction = result["tokens_per_s"] * per_token / peak
    return (f"{label:<24} wall {result['wall_s']:6.1f} s  {result['tokens_per_s']:6.1f} "
            f"tokens/s  {fraction:.2f} of the matmul peak (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
