"""The DSPy side of ``bench_improve_peer.py``: runs in DSPy's own venv (never the project's),
talking to the bundled model through a local OpenAI-compatible server.

    python dspy_peer.py SPEC.json OUT.json

SPEC (written by the caller): ``suite`` (the YAML path), ``training`` and ``held_out`` (the
suite's test indexes, from the engine's own split), ``optimizer`` ("bfrs" or "mipro"),
``budget`` (target-model calls the compile may spend), ``seed``, ``api_base``,
``target_model`` / ``proposer_model`` (two names the server answers alike, so the calls of each
can be told apart), ``max_tokens`` (the suite's), ``proposer_max_tokens``.

The program: ``dspy.Predict`` over a signature ``review -> answer`` whose instruction is the
suite's starting prompt (its template without the ``{{review}}`` line). ``adapter`` in SPEC:
"chat", DSPy's default ChatAdapter format (``PeerAdapter``: its JSONAdapter fallback off, the
proposer's answers read leniently; an answer without DSPy's ``[[ ## answer ## ]]`` field
fails), or "plain" (``PlainAdapter``: the suite's own prompt shape, the completion as the
answer). Labels
(the suite's ``expected``) are the examples' ``answer``, so DSPy may show labelled demos.

The metric applies the suite's checks for the case, implemented plainly (peer_checks.py):
``icontains`` (the value, case ignored, is in the answer), ``not-icontains`` (it is not),
``max-length`` (at most that many characters). Only the compile uses it: the held-out answers are written raw
to OUT, and the caller scores them with the project's own check engine.

OUT: the optimizer's settings, target/proposer calls counted per phase (by a DSPy callback on
every LM call), the held-out answers of the zero-shot
start and of the compiled program (``answer`` as the program returned it, or ``error``), the
compiled program's instruction and demos, and seconds.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import dspy
from dspy.utils.callback import BaseCallback
from dspy.utils.exceptions import AdapterParseError
from peer_checks import passes, read_cases  # beside this file (tests/bench/peer_checks.py)

# An answer DSPy cannot parse raises; DSPy's default (10) stops the whole compile after ten.
# Here it is the candidate's failure on that case, scored 0, as the engine scores it.
MAX_ERRORS = 10**6


class CallCounter(BaseCallback):
    """Every LM request, counted by the model it names (copies of an LM keep the name)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def on_lm_start(self, call_id, instance, inputs):
        self.calls[instance.model] += 1


def is_task(signature) -> bool:
    """The task's signature (review -> answer), not one of MIPROv2's proposer's."""
    return set(signature.input_fields) == {"review"} and set(signature.output_fields) == {"answer"}


class PeerAdapter(dspy.ChatAdapter):
    """DSPy's ChatAdapter with two changes, both needed for the 135M model to finish a run:
    no JSONAdapter fallback (it asks the server for a JSON-schema response, which llama.cpp's
    grammar sampling made take minutes per call on this 2-core machine, and it spends a second
    call on every misformatted answer), and the proposer's answers (MIPROv2's dataset summary,
    program summary, instructions) taken as raw text when the model misses DSPy's field
    markers: otherwise MIPROv2 stops with an AdapterParseError at its first proposal. The
    task's answers are parsed strictly: one without ``[[ ## answer ## ]]`` fails."""

    def __init__(self) -> None:
        super().__init__(use_json_adapter_fallback=False)

    def parse(self, signature, completion):
        try:
            return super().parse(signature, completion)
        except AdapterParseError:
            if is_task(signature):
                raise
            names = list(signature.output_fields)
            return {name: completion.strip() if name == names[-1] else "" for name in names}


class PlainAdapter(PeerAdapter):
    """The task's own prompt, no DSPy markup: each demo a user turn (the instruction, a blank
    line, the review: what the suite's template renders) and an assistant turn (the answer),
    then the case; the whole completion is the answer. With no demos it sends exactly what
    ``workbench improve``'s start sends. The proposer's signatures go through PeerAdapter."""

    def format(self, signature, demos, inputs):
        if not is_task(signature):
            return super().format(signature, demos, inputs)

        def user(review: str) -> dict:
            return {"role": "user", "content": f"{signature.instructions}\n\n{review}"}

        messages = []
        for demo in demos:
            if demo.get("review") is not None and demo.get("answer") is not None:
                messages += [user(demo["review"]), {"role": "assistant",
                                                    "content": str(demo["answer"])}]
        return messages + [user(inputs["review"])]

    def parse(self, signature, completion):
        if not is_task(signature):
            return super().parse(signature, completion)
        return {"answer": completion}


def adapter(name: str) -> PeerAdapter:
    """"chat": PeerAdapter (DSPy's ChatAdapter format); "plain": PlainAdapter."""
    return PlainAdapter() if name == "plain" else PeerAdapter()


# -- the task --------------------------------------------------------------------------------

def example(case: dict) -> dspy.Example:
    return dspy.Example(review=case["review"], answer=case["expected"] or "",
                        case_index=case["index"]).with_inputs("review")


def program(instruction: str) -> dspy.Predict:
    signature = dspy.Signature("review -> answer", instructions=instruction)
    return dspy.Predict(signature)


# -- the optimizers, sized to the budget ---------------------------------------------------------

def bootstrap_random_search(metric, budget: int, training: int, seed: int):
    """Calls ≈ 2 × training (zero-shot and labels-only candidates, scored on the training
    cases, which BFRS uses as its validation set) + (N + 1) × (bootstrapping + training) for
    the unshuffled and N shuffled bootstrap candidates; bootstrapping stops at 4 passing
    traces, about 8 calls for this model."""
    per_candidate = training + 8
    candidates = max(0, (budget - 2 * training) // per_candidate - 1)
    optimizer = dspy.BootstrapFewShotWithRandomSearch(
        metric=metric, max_bootstrapped_demos=4, max_labeled_demos=4,
        num_candidate_programs=candidates, num_threads=1, max_errors=MAX_ERRORS)
    settings = {"num_candidate_programs": candidates, "max_bootstrapped_demos": 4,
                "max_labeled_demos": 4, "valset": "the training cases (BFRS's default)"}
    return optimizer, {}, settings


def mipro(metric, budget: int, training: int, seed: int, proposer: dspy.LM):
    """MIPROv2 keeps 80% of the training cases as its validation set (its default split).
    Calls ≈ bootstrapping (≤ the other 20% per demo set, for candidates − 2 sets) + a full
    validation of the start + trials × minibatch + a full validation every 5 trials + the
    final one."""
    valset = max(1, int(training * 0.8))
    rest = training - valset
    candidates = 6
    minibatch = min(8, valset)
    fixed = (candidates - 2) * rest + 2 * valset
    per_trial = minibatch + valset / 5
    trials = max(1, int((budget - fixed) / per_trial))
    optimizer = dspy.MIPROv2(metric=metric, prompt_model=proposer, auto=None,
                             num_candidates=candidates, max_bootstrapped_demos=4,
                             max_labeled_demos=4, num_threads=1, seed=seed, verbose=False,
                             max_errors=MAX_ERRORS)
    compile_args = {"num_trials": trials, "minibatch": True, "minibatch_size": minibatch,
                    "minibatch_full_eval_steps": 5, "seed": seed}
    settings = {"num_candidates": candidates, "num_trials": trials, "minibatch_size": minibatch,
                "minibatch_full_eval_steps": 5, "max_bootstrapped_demos": 4,
                "max_labeled_demos": 4, "valset": f"{valset} of the training cases "
                                                  "(MIPROv2's default split)"}
    return optimizer, compile_args, settings


# -- one run ---------------------------------------------------------------------------------

def language_model(name: str, api_base: str, temperature: float, max_tokens: int) -> dspy.LM:
    """The server's model, uncached. DSPy sends ``max_tokens`` as ``max_completion_tokens``,
    which llama_cpp.server does not read (it then generates to the end of the context), so
    the limit also goes in ``extra_body`` under the name the server reads."""
    return dspy.LM(f"openai/{name}", api_base=api_base, api_key="none",
                   temperature=temperature, max_tokens=int(max_tokens), cache=False,
                   extra_body={"max_tokens": int(max_tokens)})


def answers(predict: dspy.Predict, cases: list[dict]) -> list[dict]:
    """Each held-out case answered once: the program's answer, or the error it raised."""
    out = []
    for case in cases:
        try:
            out.append({"index": case["index"], "answer": predict(review=case["review"]).answer})
        except Exception as error:  # a parse failure is the program's failure to answer
            out.append({"index": case["index"], "answer": None,
                        "error": f"{type(error).__name__}: {str(error)[:300]}"})
    return out


def describe(predict: dspy.Predict) -> dict:
    return {"instruction": predict.signature.instructions,
            "demos": [{k: v for k, v in dict(demo).items() if k in ("review", "answer")}
                      for demo in predict.demos]}


def main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    seed = int(spec["seed"])
    random.seed(seed)
    instruction, cases = read_cases(spec["suite"])
    by_index = {case["index"]: case for case in cases}
    training = [by_index[i] for i in spec["training"]]
    held_out = [by_index[i] for i in spec["held_out"]]
    counter = CallCounter()
    target = language_model(spec["target_model"], spec["api_base"], 0.0, spec["max_tokens"])
    proposer = language_model(spec["proposer_model"], spec["api_base"], 1.0,
                              spec["proposer_max_tokens"])
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    dspy.configure(lm=target, callbacks=[counter], adapter=adapter(spec.get("adapter", "chat")))

    def metric(example, prediction, trace=None) -> bool:
        return passes(by_index[example.case_index]["checks"], getattr(prediction, "answer", None))

    start = program(instruction)
    if spec["optimizer"] == "bfrs":
        optimizer, compile_args, settings = bootstrap_random_search(
            metric, int(spec["budget"]), len(training), seed)
    else:
        optimizer, compile_args, settings = mipro(metric, int(spec["budget"]), len(training),
                                                  seed, proposer)
    started = time.monotonic()
    compiled = optimizer.compile(start, trainset=[example(c) for c in training], **compile_args)
    compile_s = time.monotonic() - started
    compile_calls = dict(counter.calls)
    started = time.monotonic()
    start_answers = answers(start, held_out)
    compiled_answers = answers(compiled, held_out)
    held_out_s = time.monotonic() - started
    total = dict(counter.calls)
    target_name, proposer_name = target.model, proposer.model
    result = {
        "optimizer": spec["optimizer"], "adapter": spec.get("adapter", "chat"), "dspy": dspy.__version__, "seed": seed,
        "settings": settings, "budget": spec["budget"],
        "calls": {"compile_target": compile_calls.get(target_name, 0),
                  "compile_proposer": compile_calls.get(proposer_name, 0),
                  "held_out_target": total.get(target_name, 0)
                  - compile_calls.get(target_name, 0)},
        "seconds": {"compile": round(compile_s, 1), "held_out": round(held_out_s, 1)},
        "start": {"program": describe(start), "answers": start_answers},
        "compiled": {"program": describe(compiled), "answers": compiled_answers},
    }
    Path(out_path).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
