"""Decode speed with every core vs fewer threads, on a quiet machine and beside a busy process.

llama.cpp's CPU threads spin at a barrier after each graph step until the slowest thread
arrives; when another process holds one of the cores, the thread that shares it arrives late
and every step waits for it. This bench measures, through the real model host on the bundled
model, greedy decode tokens/s with ``n_threads`` = cores and with fewer, first as the machine is
and then with ``--busy`` extra processes spinning (``yes > /dev/null``). Rounds alternate the
thread counts so that drift in the machine's load hits each alike; medians are printed, with
the load average seen at each round (the rule in engine/host/threads.py reads that figure).

    .venv/bin/python tests/bench/bench_threads.py [--rounds 5] [--tokens 64] [--busy 1]
        [--skip-as-is]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.timing import timed_stream
from workbench.core.generation import GenerationRequest
from workbench.core.model_info import LoadSettings
from workbench.core.sampling import GREEDY
from workbench.engine.host.client import ModelHost
from workbench.library.bundled import bundled_model_path

N_CTX = 1024
PAUSE_S = 0.5  # llama.cpp's threads keep spinning a moment after a run


def decode_speed(host: ModelHost, round_no: int, tokens: int) -> float:
    """Tokens/s after the first token (the prompt's evaluation is left out)."""
    prompt = (f"<|im_start|>user\nRound {round_no}. Tell me a long story about a lighthouse "
              "keeper.<|im_end|>\n<|im_start|>assistant\n")
    request = GenerationRequest(prompt=prompt,
                                sampling=GREEDY.with_(max_tokens=tokens, ignore_eos=True))
    return timed_stream(lambda: host.generate(request)).tokens_per_s


def start_busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(n)]


def stop_busy(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
        process.wait()


def measure(hosts: dict[int, ModelHost], rounds: int, tokens: int) -> dict[int, list[float]]:
    speeds: dict[int, list[float]] = {t: [] for t in hosts}
    loads: list[float] = []
    for round_no in range(rounds):
        order = list(hosts) if round_no % 2 == 0 else list(reversed(hosts))
        for threads in order:
            time.sleep(PAUSE_S)
            loads.append(os.getloadavg()[0])
            speeds[threads].append(decode_speed(hosts[threads], round_no, tokens))
    speeds[0] = loads  # the load averages seen, under key 0
    return speeds


def report(label: str, speeds: dict[int, list[float]]) -> None:
    loads = speeds.pop(0)
    print(f"{label}: load average (1 min) {min(loads):.1f}–{max(loads):.1f}", flush=True)
    for threads, runs in speeds.items():
        print(f"  n_threads {threads}: median {statistics.median(runs):6.1f} tokens/s  "
              f"(runs: {', '.join(f'{r:.1f}' for r in runs)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--busy", type=int, default=1, help="spinning processes added")
    parser.add_argument("--skip-as-is", action="store_true",
                        help="only the measurement with the busy processes added")
    args = parser.parse_args()
    # A timeout's SIGTERM still stops the busy processes and the hosts (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    cores = os.cpu_count() or 1
    counts = sorted({cores, max(1, cores // 2), 1}, reverse=True)
    model = str(bundled_model_path())
    print(f"{Path(model).name}, {cores} cores, threads {counts}, {args.tokens} tokens x "
          f"{args.rounds} rounds")
    logs = Path(tempfile.mkdtemp())
    hosts = {t: ModelHost(LoadSettings(model, n_ctx=N_CTX, n_threads=t, n_gpu_layers=0,
                                       flash_attn="off", n_parallel=1), logs_dir=logs)
             for t in counts}
    try:
        for host in hosts.values():
            host.start()
            decode_speed(host, -1, 8)  # warm-up
        if not args.skip_as_is:
            report("as the machine is", measure(hosts, args.rounds, args.tokens))
        busy = start_busy(args.busy)
        try:
            time.sleep(2)
            report(f"with {args.busy} busy process(es) added",
                   measure(hosts, args.rounds, args.tokens))
        finally:
            stop_busy(busy)
    finally:
        for host in hosts.values():
            host.close()


if __name__ == "__main__":
    main()
