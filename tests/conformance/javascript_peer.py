"""promptfoo's JavaScript semantics against promptfoo itself, without a model.

    .venv/bin/python tests/conformance/javascript_peer.py [--cache DIR]

Needs the peer that ``make conformance`` installs (Node and promptfoo, pinned, in the cache
folder); starts no server. One suite on promptfoo's ``echo`` provider (the output is the
rendered prompt, so both sides check the same text) with javascript checks of every form —
expressions, declarations, bodies with return, booleans, numbers with and without a
threshold, GradingResults, wrong results, throws in both forms, a promise, context.vars and
context.prompt —, options.transform to an object, assert[].transform, transformVars in
defaultTest and a test; and a chat prompt's context.prompt. promptfoo runs it; the app's Evaluator checks the same outputs with
the same suite as its reader reads it (transformVars through the sandbox). Prints every
assertion with both verdicts and scores and exits 1 on a pass/fail disagreement. Scores
differ only where the app keeps a score to 0..1 (a returned -1).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.conformance.run import QUIET, Peer  # noqa: E402
from workbench.core.cases import CaseSet, TestCase  # noqa: E402
from workbench.core.prompts import PromptVersion  # noqa: E402
from workbench.core.retrieved_context import compose  # noqa: E402
from workbench.core.runs import Output  # noqa: E402
from workbench.services.evaluation.evaluator import Evaluator  # noqa: E402
from workbench.services.evaluation.javascript import CaseVariables, prompt_text  # noqa: E402
from workbench.services.evaluation.suite_file import load_suite  # noqa: E402

FORMS = r"""
description: javascript semantics
prompts: ["Capital of {{country}}? {{hint}}"]
providers: [echo]
defaultTest:
  options:
    transformVars: "({hint: 'Think of ' + vars.country.toUpperCase() + '.'})"
tests:
  - description: forms
    vars: {country: France}
    assert:
      - {type: javascript, value: "output.length < 200"}
      - {type: javascript, value: "output.length < 2"}
      - {type: not-javascript, value: "output.length < 2"}
      - {type: javascript, value: "const n = output.length; n > 10"}
      - {type: javascript, value: "const s = 'a;b'; s === 'a;b'"}
      - type: javascript
        value: |
          const words = output.split(' ');
          return words.length > 3;
      - {type: javascript, value: "output.length / 100"}
      - {type: javascript, value: "0.4", threshold: 0.5}
      - {type: javascript, value: "0.6", threshold: 0.5}
      - {type: javascript, value: "0"}
      - {type: javascript, value: "-1"}
      - {type: javascript, value: "{pass: true, score: 0.25, reason: 'fine'}"}
      - type: javascript
        value: |
          const why = 'too short';
          return {pass: false, score: 0.5, reason: why};
      - {type: javascript, value: "'text'"}
      - {type: javascript, value: "{pass: true, score: 1}"}
      - {type: javascript, value: "null.x"}
      - {type: not-javascript, value: "null.x"}
      - {type: javascript, value: "context.vars.country === 'France' && context.vars.hint === 'Think of FRANCE.'"}
      - {type: javascript, value: "context.prompt === 'Capital of France? Think of FRANCE.'"}
      - {type: javascript, value: "Promise.resolve(output.length > 3)"}
  - description: transforms
    vars: {country: Peru}
    options:
      transform: "({text: output, n: output.length})"
    assert:
      - {type: javascript, value: "typeof output === 'object' && output.n === output.text.length"}
      - {type: contains, value: '"n":31'}
      - {type: equals, value: PERU, transform: "context.vars.country.toUpperCase()"}
      - {type: javascript, value: "output === 'x'", transform: "'x'"}
  - description: own transformVars
    vars: {country: Chile}
    options:
      transformVars: "({hint: 'Ref ' + vars.country.length + '.'})"
    assert:
      - {type: javascript, value: "context.prompt === 'Capital of Chile? Ref 5.'"}
"""
# context.prompt of a chat prompt: promptfoo gives JSON.stringify(messages, null, 2)
CHAT = r"""
description: a chat prompt
prompts:
  - id: chat
    raw: '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of {{country}}?"}]'
providers: [echo]
tests:
  - description: chat
    vars: {country: France}
    assert:
      - {type: javascript, value: "JSON.parse(context.prompt)[1].content === 'Capital of France?'"}
      - {type: javascript, value: "context.prompt === JSON.stringify(JSON.parse(context.prompt), null, 2)"}
      - {type: javascript, value: "output === context.prompt"}
"""


def promptfoo_results(peer: Peer, folder: Path) -> dict[str, list[dict]]:
    subprocess.run(peer.command("eval", "-c", "suite.yaml", "-o", "out.json", "--no-cache"),
                   cwd=folder, capture_output=True, text=True, timeout=600, check=False,
                   env={**peer.env(folder / "promptfoo-config"), **QUIET})
    rows = json.loads((folder / "out.json").read_text())["results"]["results"]
    return {row["testCase"].get("description"): row["gradingResult"]["componentResults"]
            for row in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "WORKBENCH_CONFORMANCE_CACHE", Path.home() / ".cache" / "workbench-conformance")))
    peer = Peer(parser.parse_args().cache)
    if not peer.entry.is_file():
        print("javascript_peer: install the peer first (make conformance)", file=sys.stderr)
        return 2
    disagreements = sum(compare(peer, text) for text in (FORMS, CHAT))
    print(f"{disagreements} disagreements")
    return 1 if disagreements else 0


def compare(peer: Peer, text: str) -> int:
    """Run the suite on both sides; print each assertion; how many verdicts differ."""
    with tempfile.TemporaryDirectory(prefix="javascript-peer-") as folder:
        (Path(folder) / "suite.yaml").write_text(text)
        theirs = promptfoo_results(peer, Path(folder))
        suite = load_suite(Path(folder) / "suite.yaml")
    evaluator, variables, disagreements = Evaluator(None, None), CaseVariables(), 0
    prompt = suite.prompts[0]
    version = PromptVersion("p", system_prompt=prompt.system, examples=prompt.examples,
                            user_template=prompt.user_template)
    for test in suite.effective_tests():
        case = TestCase("s", dict(test.vars), assertions=test.assertions, options=test.options)
        case = TestCase("s", variables.of(case), assertions=test.assertions,
                        options=test.options, id=case.id)
        echoed = prompt_text(compose(version, case.variables))  # what echo answers
        verdict = evaluator.verdict(Output("r", "v", case.id, text=echoed), case,
                                    CaseSet("s", "c"), echoed, echoed)
        print(f"== {test.description}")
        for ours, their in zip(verdict.results, theirs[test.description], strict=True):
            same = ours.passed == their["pass"]
            disagreements += not same
            print(f"  {'ok  ' if same else 'DIFF'} {ours.assertion.name} "
                  f"{json.dumps(ours.assertion.value)[:48]}: app {ours.passed} "
                  f"{ours.score:.3g}, promptfoo {their['pass']} {their.get('score')}")
    return disagreements


if __name__ == "__main__":
    sys.exit(main())
