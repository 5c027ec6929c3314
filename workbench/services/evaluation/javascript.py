"""promptfoo's JavaScript in a suite: ``type: javascript`` checks, ``options.transform`` (the
output before the checks), ``assert[].transform`` (the output before one check) and
``options.transformVars`` (a test's variables before its prompts are rendered).

The code runs in V8 in a sandbox process (``js_sandbox.py``): no file system, network,
process, ``require``, ``fetch``, timers or memory outside the V8 heap; each call in a fresh
isolate, limited to ``CPU_SECONDS`` of CPU and ``MEMORY_MB`` of memory. Sandbox processes
are kept in a pool (``js_pool.py``: one per call running at once, as evaluation checks
outputs on several threads) and replaced when one ends (a limit reached, a V8 crash).

The code is wrapped as promptfoo wraps it (``src/assertions/javascript.ts``,
``src/util/transform.ts``):

- a check is the body of ``function (output, context)``: a single line is an expression
  (``output.length < 20``; ``const n = …; n > 2`` gets its ``return`` before the last
  statement), several lines are a body with its own ``return``;
- a transform is the body of ``function (output, context)`` (``function (vars, context)`` for
  transformVars): a single line is an expression, several lines a body;
- a check returns a boolean, a finite number (passes when above 0, or at least ``threshold``
  when it has one; the number is the score) or a GradingResult ``{pass, score, reason}``;
- ``context`` holds ``vars`` and ``prompt`` (the rendered prompt: the text of a plain
  prompt; the messages as JSON for a chat prompt). A transform's context holds ``vars`` and
  ``prompt`` as ``{raw, label}`` (an assertion's transform: ``{label}``, promptfoo's shape);
  transformVars' holds an empty ``prompt`` and a ``uuid``.

A throw, a time or memory limit, a syntax error or a result of the wrong kind is one sentence,
with the line of the code where it points to one.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
import uuid
from dataclasses import dataclass, replace
from typing import Any

from ...core.errors import WorkbenchError
from .js_pool import CPU_SECONDS, MEMORY_MB, WALL_SECONDS, pool

CHECK_PARAMS = ("output", "context")
VARS_PARAMS = ("vars", "context")
DECLARATION = re.compile(r"(const|let|var)\s")
STACK_LINE = re.compile(r"<anonymous>:(\d+):\d+")
SYNTAX_LINE = re.compile(r"^<anonymous>:(\d+): (.*)$", re.MULTILINE)

# Line 1 of every script: what the call gives back is a JSON text saying what the code
# returned (its typeof, the value as JSON, whether a number is finite) or threw.
_DESCRIBE = (
    "const __pw_give = (v) => { const type = v === null ? 'null' : Array.isArray(v) ? 'array' "
    ": typeof v; try { return JSON.stringify({type, value: v === undefined ? null : v, "
    "finite: typeof v === 'number' ? Number.isFinite(v) : true}); } catch (e) { return "
    "JSON.stringify({type, unserializable: String(e && e.message || e)}); } }; "
    "const __pw_threw = (e) => { let name = 'Error', message = String(e), stack = ''; try { "
    "if (e instanceof Error) { name = e.name; message = String(e.message); stack = "
    "String(e.stack || ''); } } catch (_) {} return JSON.stringify({threw: true, name, message, "
    "stack}); }; ")


@dataclass(frozen=True)
class Returned:
    """What one call of the code gave: its value (as JSON) and JavaScript type, or, when it
    gave none, why (``error``: one sentence without the subject)."""

    value: Any = None
    type: str = "undefined"  # typeof, with 'null' and 'array' told apart
    finite: bool = True  # a number that is not NaN or ±Infinity
    error: str | None = None


# -- the code, wrapped as promptfoo wraps it ---------------------------------------------------

def check_body(code: str) -> str:
    """A check's function body: several lines as written; one line an expression (promptfoo's
    buildFunctionBody: a leading declaration keeps its statements and returns the last one)."""
    code = code.rstrip()
    if "\n" in code:
        return code
    code = re.sub(r";+\s*$", "", code.strip())
    if DECLARATION.match(code):
        split = _last_statement_semicolon(code)
        if split is not None and code[split + 1:].strip():
            return f"{code[:split + 1]} return {code[split + 1:].strip()}"
        return code
    return f"return {code}"


def transform_body(code: str) -> str:
    """A transform's body (promptfoo's getInlineTransformFunction): several lines as written,
    one line an expression."""
    return code if "\n" in code else f"return {code}"


def _last_statement_semicolon(code: str) -> int | None:
    """The index of the last ``;`` between statements: outside strings, template literals,
    comments, regular expressions and brackets."""
    depth, last, i, previous = 0, None, 0, ""
    while i < len(code):
        char = code[i]
        if char in "'\"`":
            i = _string_end(code, i)
            previous = "a"
            continue
        if code.startswith("//", i):
            break
        if code.startswith("/*", i):
            end = code.find("*/", i + 2)
            i = len(code) if end < 0 else end + 2
            continue
        if char == "/" and (not previous or previous in "(,=:[!&|?{};+-*%<>~^"):
            i = _regex_end(code, i)
            previous = "a"
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ";" and depth == 0:
            last = i
        if not char.isspace():
            previous = char
        i += 1
    return last


def _string_end(code: str, start: int) -> int:
    quote, i = code[start], start + 1
    while i < len(code):
        if code[i] == "\\":
            i += 2
            continue
        if code[i] == quote:
            return i + 1
        if quote == "`" and code.startswith("${", i):
            depth, i = 1, i + 2
            while i < len(code) and depth:
                depth += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
            continue
        i += 1
    return len(code)


def _regex_end(code: str, start: int) -> int:
    i, in_class = start + 1, False
    while i < len(code):
        if code[i] == "\\":
            i += 2
            continue
        if code[i] == "[":
            in_class = True
        elif code[i] == "]":
            in_class = False
        elif code[i] == "/" and not in_class:
            return i + 1
        i += 1
    return len(code)


def script(body: str, params: tuple[str, ...], args: list[Any] | None) -> str:
    """The whole script: the body on the lines after the first (a line number in an error
    minus one is the code's own line); ``args`` None: compiled, not called."""
    signature = f"function ({', '.join(params)}) {{\n{body}\n}}"
    if args is None:
        return f"void ({signature}); 'null'"
    return (f"(async function () {{ {_DESCRIBE}try {{ return __pw_give(await ({signature})"
            f".apply(undefined, {json.dumps(args, ensure_ascii=False)})); }} catch (e) {{ "
            "return __pw_threw(e); } })()")


# -- running it --------------------------------------------------------------------------------

def run(body: str, params: tuple[str, ...], args: list[Any]) -> Returned:
    """Call the function ``params`` → ``body`` with ``args`` in the sandbox."""
    reply = pool.call(script(body, params, args))
    lines = body.count("\n") + 1
    if not reply.get("ok"):
        return Returned(error=_failure(reply, lines))
    try:
        found = json.loads(reply["result"])
    except (ValueError, KeyError, TypeError):
        return Returned(error="gave back something that is not JSON")
    if found.get("threw"):
        where = _line_of(found.get("stack", ""), lines)
        message = " ".join(str(found.get("message", "")).split())
        return Returned(error=f"threw {found.get('name', 'Error')}: {message}{where}")
    if "unserializable" in found:
        return Returned(type=found.get("type", "object"),
                        error=f"returned a {found.get('type')} that is not JSON "
                              f"({found['unserializable']})")
    return Returned(found.get("value"), found.get("type", "undefined"),
                    bool(found.get("finite", True)))


@functools.lru_cache(maxsize=1024)
def compile_problem(body: str, params: tuple[str, ...] = CHECK_PARAMS) -> str | None:
    """Why ``body`` does not compile as a function body ("SyntaxError: … (line 2)"), or None.
    The sandbox parses it without running it."""
    reply = pool.call(script(body, params, None))
    if reply.get("ok"):
        return None
    return _failure(reply, body.count("\n") + 1)


def _failure(reply: dict, lines: int) -> str:
    kind = reply.get("kind")
    if kind == "syntax":
        found = SYNTAX_LINE.search(reply.get("message", ""))
        if found is None:
            return f"does not compile: {reply.get('message', '').strip()}"
        line = min(max(int(found[1]) - 1, 1), lines)
        return f"does not compile: {found[2].strip()} (line {line})"
    if kind == "timeout":
        return (f"took more than {CPU_SECONDS:g} s of CPU (the limit of one JavaScript call) "
                "and was stopped")
    if kind == "wall":
        return (f"did not finish within {WALL_SECONDS:g} s (a promise that never settles?) "
                "and was stopped")
    if kind == "memory":
        return (f"used more than {MEMORY_MB} MB of memory (the limit of one JavaScript call) "
                "and was stopped")
    if kind == "died":
        return f"stopped the JavaScript sandbox ({reply.get('message')})"
    return f"failed: {reply.get('message', 'no reason given')}"


def _line_of(stack: str, lines: int) -> str:
    """" (line 3)": where in the code the first frame of the stack points, when it does."""
    for found in STACK_LINE.finditer(stack):
        line = int(found[1]) - 1
        if 1 <= line <= lines:
            return f" (line {line})"
    return ""


# -- checks --------------------------------------------------------------------------------

def javascript_problem(assertion) -> str | None:
    """What is wrong with a ``javascript`` assertion as written (its code compiled, not run)."""
    code = assertion.value
    if not isinstance(code, str) or not code.strip():
        return ("javascript needs code as its value: an expression of output and context, or "
                "a body with return")
    problem = _code_problem("javascript", code, check_body(code), CHECK_PARAMS)
    if problem and "\n" not in code.rstrip() and re.match(r"\s*return\b", code):
        problem += " — one line is an expression (promptfoo adds the return): drop it"
    return problem


def transform_problem(code: Any, what: str = "transform",
                      params: tuple[str, ...] = CHECK_PARAMS) -> str | None:
    """What is wrong with a transform (``params``: VARS_PARAMS for transformVars), or None."""
    if code is None:
        return None
    if not isinstance(code, str) or not code.strip():
        return f"{what} needs JavaScript code as its value"
    problem = _code_problem(what, code, transform_body(code), params)
    if problem and "\n" not in code and re.match(r"\s*return\b", code):
        problem += " — one line is an expression (promptfoo adds the return): drop it"
    return problem


def _code_problem(what: str, code: str, body: str, params: tuple[str, ...]) -> str | None:
    if code.startswith("file://"):
        return (f"{what}: file:// modules are not loaded (the sandbox has no require or "
                "import); write the code inline")
    problem = compile_problem(body, params)
    return None if problem is None else f"{what} {problem}"


def check_finding(code: str, threshold: float | None, output: Any, variables: dict,
                  prompt: str) -> tuple[bool, float, str, bool]:
    """A ``javascript`` check on one output: (passed, score, what it found, usable) for the
    plain form, as checks.Finding takes them. ``output``: the text, or what a transform
    made of it."""
    returned = run(check_body(str(code)), CHECK_PARAMS, [output, {
        "vars": variables, "prompt": prompt, "test": {"vars": variables}}])
    if returned.error:
        return False, 0.0, f"JavaScript {returned.error}", False
    value, kind = returned.value, returned.type
    if kind == "boolean":
        return bool(value), 1.0 if value else 0.0, f"JavaScript returned {str(value).lower()}", \
            True
    if kind == "number" and returned.finite:
        number = float(value)
        passed = number > 0 if threshold is None else number >= threshold
        limit = "0" if threshold is None else f"{threshold:g}"
        sign = (">" if passed else "≤") if threshold is None else ("≥" if passed else "<")
        return passed, number, f"JavaScript returned {number:g} {sign} {limit}", True
    if kind == "object" and _grading_result(value):
        score = float(value["score"])
        reason = " ".join(str(value["reason"]).split()) or \
            f"JavaScript returned pass: {str(value['pass']).lower()}"
        return bool(value["pass"]), score, reason, True
    return False, 0.0, (f"JavaScript returned {_described(returned)}, not a boolean, number "
                        "or {pass, score, reason}"), False


def _grading_result(value: Any) -> bool:
    """promptfoo's isGradingResult: pass a boolean, score a finite number, reason a text."""
    return (isinstance(value, dict) and isinstance(value.get("pass"), bool)
            and isinstance(value.get("score"), (int, float))
            and not isinstance(value.get("score"), bool) and math.isfinite(value["score"])
            and isinstance(value.get("reason"), str))


def _described(returned: Returned) -> str:
    if returned.type in ("undefined", "null"):
        return returned.type + (" (several lines need a return)"
                                if returned.type == "undefined" else "")
    if returned.type == "number":
        return "a number that is not finite"
    shown = json.dumps(returned.value, ensure_ascii=False)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    return f"{'an' if returned.type[0] in 'aeiou' else 'a'} {returned.type} ({shown})"


# -- transforms ----------------------------------------------------------------------------

def transform_output(code: str, output: Any, variables: dict, prompt: Any,
                     what: str = "options.transform") -> Any:
    """The output as ``code`` transforms it (any JSON value); WorkbenchError saying what went
    wrong otherwise. ``prompt``: what promptfoo gives a transform as ``context.prompt``."""
    returned = run(transform_body(str(code)), CHECK_PARAMS,
                   [output, {"vars": variables, "prompt": prompt}])
    if returned.error:
        raise WorkbenchError(f"{what} {returned.error}")
    if returned.type in ("undefined", "null"):
        raise WorkbenchError(f"{what} returned {_described(returned)}")
    if returned.type == "number" and not returned.finite:
        raise WorkbenchError(f"{what} returned a number that is not finite")
    return returned.value


def transformed(context, code: str, prompt: Any, what: str):
    """``context`` (a checks.CheckContext) with its output as ``code`` transforms it: the
    text as promptfoo coerces it, the value itself for a javascript check."""
    value = transform_output(code, context.text if context.value is None else context.value,
                             context.variables or {}, prompt, what)
    return replace(context, text=as_text(value), value=None if isinstance(value, str) else value)


def transform_variables(code: str, variables: dict[str, str]) -> dict[str, str]:
    """A test's variables after its transformVars (promptfoo: the object it returns is merged
    over them; each value becomes text, an object or list as JSON)."""
    returned = run(transform_body(str(code)), VARS_PARAMS,
                   [variables, {"prompt": {}, "uuid": str(uuid.uuid4())}])
    if returned.error:
        raise WorkbenchError(f"transformVars {returned.error}")
    if returned.type != "object":
        raise WorkbenchError(f"transformVars must return an object of variables; it returned "
                             f"{_described(returned)}")
    return {**variables, **{str(k): as_text(v) for k, v in returned.value.items()}}


def prompt_text(messages) -> str:
    """``context.prompt`` as promptfoo gives it: a prompt of one user message is its text; a
    chat is its messages as ``JSON.stringify(messages, null, 2)`` writes them (measured with
    promptfoo 0.123.1's echo provider)."""
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content
    return json.dumps([message.to_dict() for message in messages], ensure_ascii=False, indent=2)


def as_text(value: Any) -> str:
    """promptfoo's coerceString: a text as it is, anything else as JSON.stringify writes it."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def suite_variables(test) -> tuple[dict[str, str], str | None]:
    """A suite test's variables as its transformVars makes them (the preflight renders its
    prompts with them), and why that failed (None: it did not; "": it does not compile, which
    the file's reader says)."""
    code = test.options.get("transformVars")
    if not code:
        return test.vars, None
    if transform_problem(code, "transformVars", VARS_PARAMS):
        return test.vars, ""
    try:
        return transform_variables(code, dict(test.vars)), None
    except WorkbenchError as error:
        return test.vars, str(error)


class CaseVariables:
    """Each case's variables as its transformVars makes them, once per run: every prompt,
    model and repeat of a case sees the same variables (promptfoo runs transformVars once per
    test, with one uuid). Thread-safe; a failure is said again for every cell of the case."""

    def __init__(self):
        self._done: dict[str, dict[str, str] | WorkbenchError] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def of(self, case) -> dict[str, str]:
        code = (getattr(case, "options", None) or {}).get("transformVars")
        if not code:
            return case.variables
        with self._lock:
            lock = self._locks.setdefault(case.id, threading.Lock())
        with lock:
            if case.id not in self._done:
                try:
                    self._done[case.id] = transform_variables(code, dict(case.variables))
                except WorkbenchError as error:
                    self._done[case.id] = error
        found = self._done[case.id]
        if isinstance(found, WorkbenchError):
            raise WorkbenchError(f"The test's {found}")
        return found
