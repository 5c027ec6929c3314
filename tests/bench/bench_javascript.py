"""The cost of one javascript check, and of what it is made of.

    .venv/bin/python tests/bench/bench_javascript.py [--calls 500]

Medians over ``--calls`` calls, one after another, of ``output.length < 20`` on a short
output, the script wrapped as javascript.py wraps it:
- check: ``javascript.check_finding`` as the evaluation runs it (a sandbox process from the
  pool, a fresh V8 isolate per call, the request and reply as JSON lines), back to back: each
  call also waits for the isolate the previous one left the sandbox making;
- check, spaced: the same with 20 ms between calls, as outputs arrive during a run (the next
  isolate is ready when the call comes);
- reused isolate: the same script evaluated again and again in one MiniRacer in this process
  (what a call costs V8 when nothing is made anew);
- fresh isolate: a MiniRacer made (with the sandbox's prelude), used once and closed per call,
  in this process (the price of isolating every call);
- sandbox start: a new sandbox process until its first answer (paid once per process).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from py_mini_racer import JSPromise, MiniRacer  # noqa: E402

from workbench.services.evaluation import javascript  # noqa: E402
from workbench.services.evaluation.js_sandbox import PRELUDE  # noqa: E402

CODE = "output.length < 20"


def median_ms(timings: list[float]) -> float:
    return statistics.median(timings) * 1000


def timed(calls: int, one) -> list[float]:
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        one()
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    calls = parser.parse_args().calls
    source = javascript.script(javascript.check_body(CODE), javascript.CHECK_PARAMS,
                               ["Paris", {"vars": {}, "prompt": ""}])

    started = time.perf_counter()
    javascript.check_finding(CODE, None, "Paris", {}, "")  # the first process starts here
    first = time.perf_counter() - started
    check = timed(calls, lambda: javascript.check_finding(CODE, None, "Paris", {}, ""))
    spaced = []
    for _ in range(max(50, calls // 5)):
        time.sleep(0.02)
        spaced += timed(1, lambda: javascript.check_finding(CODE, None, "Paris", {}, ""))

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def on_loop(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    async def make() -> MiniRacer:
        racer = MiniRacer()
        racer.eval(PRELUDE)
        return racer

    async def evaluate(racer: MiniRacer):
        value = await racer.eval_cancelable(source)
        return await value if isinstance(value, JSPromise) else value

    racer = on_loop(make())
    reused = timed(calls, lambda: on_loop(evaluate(racer)))
    racer.close()

    def fresh_once() -> None:
        made = on_loop(make())
        on_loop(evaluate(made))
        made.close()

    fresh = timed(max(50, calls // 5), fresh_once)
    loop.call_soon_threadsafe(loop.stop)

    print(f"check (sandbox process, fresh isolate): {median_ms(check):.2f} ms median over "
          f"{calls} calls")
    print(f"check, 20 ms apart:                      {median_ms(spaced):.2f} ms")
    print(f"reused isolate, in process:              {median_ms(reused):.3f} ms")
    print(f"fresh isolate per call, in process:      {median_ms(fresh):.2f} ms")
    print(f"sandbox start (first call):              {first * 1000:.0f} ms")


if __name__ == "__main__":
    main()
