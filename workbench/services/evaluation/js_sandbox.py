"""The JavaScript sandbox process: V8 (the ``mini-racer`` wheel) with no I/O, one call at a time.

Run as ``python -m workbench.services.evaluation.js_sandbox`` by ``javascript.py``, which owns
the wrapping of a suite's code, the pool of these processes and what a result means. This side
only runs a script and says what came of it, one JSON object per line each way:

- in: ``{"source": "…", "cpu_s": 1.0, "wall_s": 10.0, "memory_mb": 128}``, where the script's
  completion value is a promise of a JSON text (``javascript.py`` writes it so);
- out: ``{"ok": true, "result": "<that JSON text>"}`` or ``{"ok": false, "kind": "syntax" |
  "timeout" | "wall" | "memory" | "error", "message": "…"}``.

Why a process of its own: V8 ends the whole process on some single allocations too large for
its heap (``new Array(2**28).fill(0)`` is "Fatal JavaScript out of memory"), and mini-racer's
heap limit is checked after garbage collections, so a fast allocation can run far past it.
Here such a call takes down only this process, and a watch on the process's resident memory
ends it (after saying so) the moment it passes the limit. The watch also counts the process's
CPU time: a call that spends more than ``cpu_s`` of it is terminated (V8 stops the script where
it is), whatever the wall clock says on a busy machine; ``wall_s`` ends a call that waits
forever without working (a promise that never settles).

Each call runs in a fresh V8 isolate (made, with the prelude, while the parent has no call
waiting): nothing one script leaves behind — globals, changed built-ins, pending promises —
is there for the next. The prelude removes what mini-racer adds to plain V8 (``setTimeout``
and the shared memory behind it) and every way to memory outside the V8 heap (ArrayBuffer,
typed arrays, WebAssembly), and makes ``console`` a no-op. V8 itself has no file system,
network, process, ``require`` or ``fetch``; ``import()`` is refused by mini-racer.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

PRELUDE = r"""
(() => {
  const g = globalThis;
  const outside = /^(Big)?(Int|Uint|Float)\d+(Clamped)?Array$/;
  const removed = ["ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics", "WebAssembly",
                   "setTimeout", "clearTimeout", "__timer_manager"];
  for (const name of Object.getOwnPropertyNames(g)) {
    if (outside.test(name) || removed.includes(name)) {
      // mini-racer declares its timer names with var: not deletable, but writable
      if (!delete g[name]) g[name] = undefined;
    }
  }
  const quiet = () => undefined;
  g.console = {log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet, trace: quiet,
               dir: quiet, table: quiet, assert: quiet};
})();
"""
POLL_S = 0.005  # how often the watch looks at CPU time and memory
MEMORY_SLACK_MB = 64  # the process's own growth (V8's code space, malloc) beyond the heap
EXIT_MEMORY = 3


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the peak is all there is
        try:
            import resource
        except ImportError:  # Windows: V8's own heap limit alone
            return 0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class Sandbox:
    def __init__(self, channel):
        self.channel = channel
        self.racer = None
        self.memory_mb = 0

    async def fresh(self, memory_mb: int) -> None:
        """A new isolate (in this event loop: no thread of mini-racer's own), limited and
        with the prelude run."""
        from py_mini_racer import MiniRacer

        if self.racer is not None:
            self.racer.close()
        self.racer = MiniRacer()
        self.racer.set_hard_memory_limit(memory_mb * 2**20)
        self.racer.eval(PRELUDE)
        self.memory_mb = memory_mb

    def reply(self, **fields) -> None:
        self.channel.write(json.dumps(fields) + "\n")
        self.channel.flush()

    async def call(self, request: dict) -> None:
        from py_mini_racer import JSOOMException, JSParseException, JSPromise

        memory_mb = int(request.get("memory_mb", 128))
        if self.racer is None or memory_mb != self.memory_mb:
            await self.fresh(memory_mb)
        racer = self.racer

        async def run():
            value = await racer.eval_cancelable(request["source"])
            if isinstance(value, JSPromise):
                value = await value
            return value

        ceiling = _resident_bytes() + (memory_mb + MEMORY_SLACK_MB) * 2**20
        cpu_limit, wall_limit = float(request["cpu_s"]), float(request["wall_s"])
        cpu_start, wall_start = time.process_time(), time.monotonic()
        task = asyncio.ensure_future(run())
        stopped = None
        while not task.done():
            await asyncio.wait({task}, timeout=POLL_S)
            if task.done():
                break
            if _resident_bytes() > ceiling:
                self.reply(ok=False, kind="memory", message=f"{memory_mb} MB")
                os._exit(EXIT_MEMORY)  # V8 may be mid-allocation: nothing here is kept
            if time.process_time() - cpu_start > cpu_limit:
                stopped = "timeout"
            elif time.monotonic() - wall_start > wall_limit:
                stopped = "wall"
            if stopped:
                task.cancel()
                break
        try:
            result = await task
        except asyncio.CancelledError:
            self.reply(ok=False, kind=stopped or "timeout", message="")
            os._exit(0)  # V8 may not have stopped yet: the parent starts a new sandbox
        except JSParseException as error:
            self.reply(ok=False, kind="syntax", message=str(error))
        except JSOOMException:
            self.reply(ok=False, kind="memory", message=f"{memory_mb} MB")
            os._exit(EXIT_MEMORY)
        except Exception as error:  # noqa: BLE001 - every other failure is the script's
            self.reply(ok=False, kind="error", message=f"{type(error).__name__}: {error}")
        else:
            if isinstance(result, str):
                self.reply(ok=True, result=result)
            else:
                self.reply(ok=False, kind="error", message="the script gave no JSON text")
        # The next call's isolate, made now, while the parent reads this reply.
        await self.fresh(memory_mb)


async def serve(channel) -> None:
    sandbox = Sandbox(channel)
    loop = asyncio.get_running_loop()
    await sandbox.fresh(128)
    sandbox.reply(ok=True, ready=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        try:
            request = json.loads(line)
        except ValueError:
            sandbox.reply(ok=False, kind="error", message="not a JSON request")
            continue
        await sandbox.call(request)


def main() -> None:
    from ...engine.quantlab.child_io import open_channel

    channel = open_channel()  # ends with the parent; stdout kept for replies only
    asyncio.run(serve(channel))


if __name__ == "__main__":
    main()
