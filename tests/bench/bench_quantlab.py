"""The quantization lab on the bundled model: what each step costs, and how exact its KLD is.

    .venv/bin/python tests/bench/bench_quantlab.py [--quants Q8_0,Q6_K,…] [--repeats 3]
        [--pp 512] [--tg 128] [--threads 0] [--keep DIR]

Runs one lab (F16 reference of the bundled Q4_1 file, then each type) with llama-bench's
default sizes and prints, per arm: the measuring child's wall time (load, the texts' token
distributions, the speed runs), the quantizer's time, and the measured figures. Then, for each
arm, the full-vocabulary KL divergence computed here from llama.cpp's logits against the lab's
top-K + tail estimate (a lower bound), as a ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quants", default="Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q4_0,Q3_K_M")
    parser.add_argument("--engine", action="append", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pp", type=int, default=512)
    parser.add_argument("--tg", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--keep", help="WORKBENCH_HOME to use (kept afterwards)")
    args = parser.parse_args()
    os.environ["WORKBENCH_HOME"] = args.keep or tempfile.mkdtemp(prefix="bench-quantlab-")

    from workbench.core.job_state import JobState, JobWatcher
    from workbench.services.experiments.quantlab import QuantLabService
    from workbench.services.experiments.quantlab_config import QuantLabConfig
    from workbench.services.experiments.quantlab_report import recommend
    from workbench.services.models import ModelService
    from workbench.services.sessions import open_store

    store = open_store()
    models = ModelService(store=store)
    job = JobState()
    job.watch(JobWatcher(on_progress=lambda p: print(
        f"  {int(p.done)}/{int(p.total)} {p.message}", file=sys.stderr)
        if not p.message.split(": ")[-1].startswith(("token distributions", "speed")) else None))
    started = time.perf_counter()
    outcome = QuantLabService(models, store).run(QuantLabConfig(
        "smollm2-135m-instruct", quants=args.quants.split(","), engines=args.engine or [""],
        repeats=args.repeats, pp=args.pp, tg=args.tg, threads=args.threads), job)
    total = time.perf_counter() - started
    models.close()
    store.close()

    files = {f["path"]: f for f in outcome.results["files"]}
    print(f"\nlab on {os.cpu_count()} CPU(s): {total:.1f} s in all; pp{args.pp} tg{args.tg} "
          f"x{args.repeats}; {outcome.results['reference']['positions']} positions")
    print(f"{'arm':<24}{'measure s':>10}{'quantize s':>11}{'size MiB':>9}{'mem MiB':>8}"
          f"{'pp t/s':>9}{'tg t/s':>8}{'KLD':>9}{'p99':>8}{'same%':>7}")
    for arm in outcome.arms:
        if arm["status"] != "done":
            print(f"{arm['label']:<24} {arm['status']}: {arm.get('error', '')}")
            continue
        quantized = files.get(arm["path"], {}).get("quantize_seconds")
        print(f"{arm['label']:<24}{arm['seconds']:>10.2f}"
              f"{(f'{quantized:.2f}' if quantized else '-'):>11}"
              f"{arm['size'] / 2**20:>9.1f}{arm['memory'] / 2**20:>8.1f}"
              f"{arm['pp_tps_mean']:>9.1f}{arm['tg_tps_mean']:>8.1f}{arm['kld_mean']:>9.5f}"
              f"{arm['kld_p99']:>8.4f}{arm['same_top']:>7.1f}")
    measured = [a["seconds"] for a in outcome.arms if a["status"] == "done"]
    print(f"measuring per arm: mean {sum(measured) / len(measured):.2f} s")
    print(recommend(outcome.results))
    print("\nfull-vocabulary KL vs the lab's top-K + tail estimate (lower bound):")
    for label, full, bucketed in exact_kl(outcome, args.threads):
        print(f"  {label:<24} full {full:.5f}  top-K {bucketed:.5f}  "
              f"ratio {bucketed / full if full else float('nan'):.3f}")
    print(f"kept in {outcome.folder}")
    return 0


def exact_kl(outcome, threads: int):
    import numpy as np
    from llama_cpp import Llama

    stored = np.load(outcome.results["reference"]["npz"])
    texts = np.split(stored["tokens"], np.cumsum(stored["text_lengths"])[:-1])
    threads = threads or max(1, min(8, len(os.sched_getaffinity(0))))

    def log_probs(path: str) -> np.ndarray:
        llm = Llama(model_path=path, logits_all=True, n_ctx=outcome.results["config"]["n_ctx"],
                    n_batch=512, verbose=False, n_threads=threads, n_threads_batch=threads)
        rows = []
        for tokens in texts:
            llm.reset()
            llm.eval([int(t) for t in tokens])
            rows.append(np.array(llm.scores[:len(tokens)], dtype=np.float64))
        llm.close()
        logits = np.concatenate(rows)
        shifted = logits - logits.max(1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))

    reference = next(a for a in outcome.arms if a.get("reference"))
    p = log_probs(reference["path"])
    for arm in outcome.arms:
        if arm["status"] != "done" or arm.get("reference") or arm.get("engine"):
            continue
        q = log_probs(arm["path"])
        yield arm["label"], float((np.exp(p) * (p - q)).sum(1).mean()), arm["kld_mean"]


if __name__ == "__main__":
    sys.exit(main())
