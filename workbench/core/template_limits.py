"""What a template may ask for, and how big what it asks for would be.

The limits the bounded sandbox (template_sandbox.py) holds every template to, the
``TemplateLimitError`` that refuses one, the budget of one rendering (loop steps and calls,
characters and items built), and estimates of an operation's result made *before* it runs:
``len(str(value))`` of nested containers, ``'%…' % values``, ``str.join`` and ``replace``, a
power's bits. An estimate may be off by the small factor escaping adds; the sandbox measures
each result afterwards too.
"""

from __future__ import annotations

import math
import re
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import MAX_RANGE
from jinja2.utils import Namespace

# One string, and the whole rendered text: 10 million characters is about 2.5 million tokens,
# more than any local model's context holds, and still only 10-40 MB of memory.
MAX_TEXT = 10_000_000
# One list or tuple: templates walk messages, tools and examples, hundreds of them at most.
MAX_ITEMS = 1_000_000
# One integer: counts, indexes and lengths fit in 64 bits. 4,096 bits (1,234 digits) keeps
# every product to microseconds (and Python will not print past 4,300 digits anyway).
MAX_INT_BITS = 4096
# One rendering: loop steps plus calls (macros, methods, functions). A chat template spends
# ten or twenty on each message, so this is room for some ten thousand messages; a rendering
# that runs out has spent about a second (a macro call costs a few microseconds).
MAX_STEPS = 250_000
# One rendering: characters and items its operations build in all (each '+' copies, each
# filter's result, ...): ten times the longest text, room for a long conversation copied a few
# times over, not for a loop that builds a big string each time round.
MAX_BUILT = 10 * MAX_TEXT
# jinja2's own bound on range() (100,000 numbers) stays; range() is re-checked here only to
# say so in the same words as the other limits.
MAX_RANGE_ITEMS = MAX_RANGE


class TemplateLimitError(SecurityError):
    """A template asked for more than the sandbox allows: what it asked for, and the limit."""


def refuse(what: str, made: str, size: int, unit: str, limit: int, about: bool = False):
    amount = f"about {size:,}" if about else f"{size:,}"
    raise TemplateLimitError(f"{what} would make {made} of {amount} {unit} "
                             f"(the limit is {limit:,})")


def check_text(what: str, size: int, exact: bool = True) -> None:
    """``exact``: ``size`` is the length itself, not an estimate (which may have stopped
    counting once past the limit, so the refusal says only that)."""
    if size > MAX_TEXT and not exact:
        raise TemplateLimitError(f"{what} would make a string of more than {MAX_TEXT:,} "
                                 "characters, the limit")
    if size > MAX_TEXT:
        refuse(what, "a string", size, "characters", MAX_TEXT)


def check_items(what: str, size: int) -> None:
    if size > MAX_ITEMS:
        refuse(what, "a list", size, "items", MAX_ITEMS)


def check_bits(what: str, bits: int, about: bool = False) -> None:
    if bits > MAX_INT_BITS:
        refuse(what, "an integer", bits, "bits", MAX_INT_BITS, about)


# -- one rendering's budget ---------------------------------------------------------------


@dataclass
class _Budget:
    steps: int = 0
    built: int = 0


# The budget of the rendering under way (BoundedTemplate.render). Outside one (a template
# streamed with generate()) only the per-operation limits apply.
_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def rendering() -> Iterator[None]:
    """One rendering: its steps and built characters are counted from nothing."""
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def step() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.steps += 1
        if budget.steps > MAX_STEPS:
            raise TemplateLimitError(f"it ran more than {MAX_STEPS:,} loop steps and calls, "
                                     "the limit for one rendering")


def charge(size: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.built += size
        if budget.built > MAX_BUILT:
            raise TemplateLimitError(f"its operations built more than {MAX_BUILT:,} "
                                     "characters and items in all, the limit for one rendering")


def measured(what: str, result: Any, new: bool = True) -> Any:
    """``result`` once it is within the limits; when it is ``new`` (built by the operation,
    not handed back from its input) its size counts against the rendering's budget."""
    if isinstance(result, str | bytes):
        check_text(what, len(result))
    elif isinstance(result, list | tuple):
        check_items(what, len(result))
    elif isinstance(result, int) and not isinstance(result, bool):
        check_bits(what, result.bit_length())
        return result
    else:
        return result
    if new:
        charge(len(result))
    return result


# -- sizes, without building anything ------------------------------------------------------


def text_size(value: Any, limit: int = MAX_TEXT, inner: bool = False, indent: int = 0,
               depth: int = 0) -> int:
    """About ``len(str(value))`` (``inner``: as an item of a container, ``indent``: as
    ``json.dumps(indent=…)``), without building it. Counting stops once past ``limit``, so a
    list of a million references to one long string costs no more than the limit."""
    if isinstance(value, str):
        return len(value) + (2 if inner else 0)
    if isinstance(value, bytes | bytearray):
        return 4 * len(value) + 3
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return value.bit_length() * 30103 // 100000 + 2  # decimal digits and a sign
    if isinstance(value, float | Undefined):
        return 24
    if isinstance(value, Namespace):  # printed as <Namespace {…}>
        value = object.__getattribute__(value, "_Namespace__attrs")
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple | set | frozenset | KeysView | ValuesView | ItemsView):
        items = value
    else:
        return len(str(value))  # everything else prints as a short repr
    newline = indent * (depth + 1) + 1 if indent else 0
    size = 2 + (indent * depth + 1 if indent else 0)
    for item in items:
        if isinstance(value, Mapping):
            size += text_size(item[0], limit - size, True) + 2
            item = item[1]
        size += text_size(item, limit - size, True, indent, depth + 1) + 2 + newline
        if size > limit:
            break
    return size


def join_size(separator: int, items: Any) -> int:
    """About the length of ``items`` joined with a separator of ``separator`` characters."""
    if isinstance(items, str):
        return len(items) + separator * max(len(items) - 1, 0)
    size = -separator
    for item in items:
        size += text_size(item) + separator
        if size > MAX_TEXT:
            break
    return max(size, 0)


def replace_size(text: Any, old: Any, new: Any, count: Any) -> int:
    if not (isinstance(text, str | bytes) and type(old) is type(text)
            and type(new) is type(text)):
        return len(text) if isinstance(text, str | bytes) else 0  # replace() will refuse
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 9 else MAX_TEXT + 1


_CONVERSION = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.?)", re.S)
_LONGEST_FIXED = 310  # '%f' of the largest float: 309 digits and a sign


def percent_size(template: str | bytes, values: Any) -> int:
    """About the length of ``template % values`` (widths and precisions included)."""
    if isinstance(template, bytes):
        template = template.decode("latin-1")
    items = values if isinstance(values, tuple) else (values,)
    mapping = values if isinstance(values, Mapping) else None
    size, position = len(template), 0
    for match in _CONVERSION.finditer(template):
        key, width, precision, kind = match.groups()
        if kind == "%":
            continue
        for number in (width, precision):
            if number == "*":
                star = items[position] if position < len(items) else 0
                position += 1
                size += abs(star) if isinstance(star, int) else 0
            elif number:
                size += _number(number)
        if key is not None and mapping is not None:
            value = mapping.get(key)
        else:
            value = items[position] if position < len(items) else None
            position += 1
        size += (_LONGEST_FIXED if kind and kind in "fF"
                 else text_size(value, inner=kind in ("r", "a")))
        if size > MAX_TEXT:
            break
    return size


def spec_width(spec: str) -> int:
    """The widths and precisions in a format spec (``>{9}``, ``.3f``), added up."""
    return sum(_number(digits) for digits in re.findall(r"\d+", spec))


# -- operators and methods -----------------------------------------------------------------


def check_repeat(what: str, left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        check_bits(what, left.bit_length() + right.bit_length())
        return
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    if not isinstance(times, int) or not isinstance(sequence, str | bytes | list | tuple):
        return
    size = len(sequence) * max(times, 0)
    if isinstance(sequence, str | bytes):
        check_text(what, size)
    else:
        check_items(what, size)


def check_power(what: str, base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0 \
            or abs(base) < 2:
        return  # a float power overflows at once, a negative one is a float, 0/1/-1 stay small
    if exponent.bit_length() > 64:
        raise TemplateLimitError(f"{what} would make an integer of more than {2**64:,} bits "
                                 f"(the limit is {MAX_INT_BITS:,})")
    check_bits(what, int(exponent * math.log2(abs(base))) + 1, about=True)


def check_sum(what: str, left: Any, right: Any) -> None:
    if isinstance(left, str | bytes) and isinstance(right, str | bytes):
        check_text(what, len(left) + len(right))
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        check_items(what, len(left) + len(right))


def _argument(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def sized_method_args(owner: Any, name: str, args: tuple, kwargs: dict) -> tuple:
    """Refuse a string method that would make too long a string; the arguments to call it
    with (``join`` gets its items as a list, so a one-shot iterator is walked only once)."""
    what = f"'{name}()'"
    if isinstance(owner, int) and name == "to_bytes":
        length = _argument(args, kwargs, 0, "length", 1)
        if isinstance(length, int):
            check_text(what, length)
    if not isinstance(owner, str | bytes):
        return args
    if name in ("ljust", "rjust", "center", "zfill"):
        width = _argument(args, kwargs, 0, "width", 0)
        if isinstance(width, int):
            check_text(what, max(len(owner), width))
    elif name == "expandtabs":
        size = _argument(args, kwargs, 0, "tabsize", 8)
        if isinstance(size, int):
            tab = "\t" if isinstance(owner, str) else b"\t"
            check_text(what, len(owner) + owner.count(tab) * max(size, 0))
    elif name == "replace" and len(args) >= 2:
        count = _argument(args, kwargs, 2, "count", -1)
        check_text(what, replace_size(owner, args[0], args[1], count))
    elif name == "join" and args:
        items = args[0] if isinstance(args[0], str | bytes) else list(args[0])
        check_text(what, join_size(len(owner), items), exact=False)
        return (items, *args[1:])
    return args
