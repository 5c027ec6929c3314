"""The comparison grid on one model: batched decoding against one variant alone.

    .venv/bin/python tests/bench/bench_grid.py [--rounds 3] [--tokens 128] [--flash-attn auto]

Through the real services (RunService, a temp store, the bundled model), each round runs:
- one variant alone over one case sharing a ~1,000-token few-shot prefix, 128 tokens;
- four variants (four seeds) over the same case: one grid row, decoded as four sequences;
Both on the same warm model; a fresh case text each round so no run reuses another's cache.
Prints medians and the ratios the engine-speed issue sets as goals:
- grid wall time ÷ one variant alone (goal ≤ 1.5);
- aggregate decode tokens/s with 4 sequences ÷ 1 sequence (goal ≥ 2).
Then the determinism check: 16 greedy prompts batched vs each alone (rate of equal outputs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="bench-grid-"))

from workbench.core.generation import GenerationRequest  # noqa: E402
from workbench.core.messages import conversation  # noqa: E402
from workbench.core.prompts import FewShotExample  # noqa: E402
from workbench.core.sampling import GREEDY  # noqa: E402
from workbench.services.compare import RunService, VariantSpec  # noqa: E402
from workbench.services.models import ModelService  # noqa: E402
from workbench.services.sessions import open_store  # noqa: E402
from workbench.services.workspace import WorkspaceService  # noqa: E402

EXAMPLES = [
    ("The harbour lights flickered as the storm rolled in from the west.", "weather"),
    ("She counted the coins twice before paying the ferryman.", "money"),
    ("The old engine coughed, sputtered and finally caught.", "machines"),
    ("Gulls wheeled above the fish market at dawn.", "animals"),
    ("He wrote the letter by candlelight and sealed it with wax.", "writing"),
    ("The bakery on the corner sold out of rye bread by noon.", "food"),
    ("A cold wind carried the smell of salt and tar.", "weather"),
    ("The accountant frowned at the ledger's last column.", "money"),
]


class Listener:
    def __init__(self):
        self.outputs, self.done = [], threading.Event()

    def cell_started(self, *a): pass
    def cell_token(self, *a): pass
    def cell_finished(self, output): self.outputs.append(output)
    def run_finished(self, run_id, status): self.done.set()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--flash-attn", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--requantize", metavar="TYPE", choices=("q4_0", "q8_0"),
                        help="first requantize the bundled model with llama.cpp's quantizer "
                             "(Q4_0 has repacked GEMM kernels on x86 CPUs; Q4_1 has not)")
    args = parser.parse_args()
    model = requantized(args.requantize) if args.requantize else None
    store = open_store()
    models = ModelService()
    workspace, runs = WorkspaceService(store), RunService(store, models)
    session = workspace.create_session("bench")
    system = ("Label each sentence with its topic in one word, then explain the label in a few "
              "sentences. " * 3)
    examples = [FewShotExample(text * 3, label) for text, label in EXAMPLES] * 2
    version = workspace.save_version(session.prompt.id, system, examples, "{{ text }}",
                                     parent_id=None)
    engine = {"n_parallel": 4, "flash_attn": args.flash_attn, "n_threads": args.threads}
    sampling = GREEDY.with_(max_tokens=args.tokens, ignore_eos=True)

    def spec(i: int) -> VariantSpec:
        s = sampling if i == 0 else sampling.with_(temperature=0.8, seed=i)
        return VariantSpec(f"v{i}", version, model, s, n_ctx=4096, engine=engine)

    host = models.load(models.settings_for(model, n_ctx=4096, **engine))
    prefix = len(host.tokenize(host.render(list(_messages(version)))))
    print(f"few-shot prefix ≈ {prefix} tokens; {host.metadata.engine}")

    def run(specs, text) -> tuple[float, list]:
        cases = workspace.save_cases(session.case_set, [({"text": text}, None)])
        listener = Listener()
        start = time.perf_counter()
        runs.start(session.session.id, cases.id, cases.cases, specs, listener)
        assert listener.done.wait(600)
        wall = time.perf_counter() - start
        assert all(not o.error for o in listener.outputs), [o.error for o in listener.outputs]
        return wall, listener.outputs

    run([spec(0)], "Warm-up sentence about a lighthouse.")
    alone, grid, speed1, speed4 = [], [], [], []
    for r in range(args.rounds):
        wall, outs = run([spec(0)], f"Round {r}: the ferry left without its captain.")
        alone.append(wall)
        speed1.append(outs[0].tokens_per_second)
        wall, outs = run([spec(i) for i in range(4)], f"Round {r}: the mill wheel stopped.")
        grid.append(wall)
        speed4.append(sum(o.tokens_per_second for o in outs))
        print(f"round {r}: alone {alone[-1]:.2f} s, 4 variants {grid[-1]:.2f} s; decode "
              f"{speed1[-1]:.0f} vs {speed4[-1]:.0f} tok/s aggregate", flush=True)
    a, g = statistics.median(alone), statistics.median(grid)
    s1, s4 = statistics.median(speed1), statistics.median(speed4)
    print(f"\nGrid (4 variants, {args.tokens} tokens each, shared prefix): {g:.2f} s vs one "
          f"variant {a:.2f} s → ratio {g / a:.2f} (goal ≤ 1.5)")
    print(f"Decode: {s4:.0f} tok/s with 4 sequences vs {s1:.0f} with one → {s4 / s1:.2f}× "
          f"(goal ≥ 2)")

    prompts = [f"Question {i}: name something {w}." for i, w in enumerate(
        "red blue round sharp soft loud tiny old new cold warm fast slow heavy bright dark"
        .split())]
    requests = [GenerationRequest(messages=tuple(conversation(p)),
                                  sampling=GREEDY.with_(max_tokens=64)) for p in prompts]
    streams = host.generate_many(requests)
    together = [None] * len(streams)
    threads = [threading.Thread(target=lambda i=i: together.__setitem__(i, streams[i].result()))
               for i in range(len(streams))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    single = [host.generate(r).result() for r in requests]
    same = sum(a.token_ids == b.token_ids for a, b in zip(together, single))
    print(f"Determinism: {same} of {len(requests)} greedy outputs batched equal the same "
          f"request alone (64 tokens each)")
    models.close()
    store.close()


def requantized(kind: str) -> str:
    import llama_cpp

    from workbench.library.bundled import bundled_model_path

    target = Path(tempfile.mkdtemp()) / f"smollm2-{kind}.gguf"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = {"q4_0": 2, "q8_0": 7}[kind]
    params.allow_requantize = True
    if llama_cpp.llama_model_quantize(str(bundled_model_path()).encode(), str(target).encode(),
                                      params):
        raise SystemExit(f"llama.cpp could not requantize the bundled model to {kind}")
    return str(target)


def _messages(version):
    from workbench.core.composition import build_messages

    return build_messages(version, {"text": "x"})


if __name__ == "__main__":
    main()
