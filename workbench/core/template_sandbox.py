"""The Jinja2 sandbox every template renders in: the user's prompt templates and the chat
templates inside model files (composition.py and chat_template.py share this one class).

jinja2's immutable sandbox keeps a template away from Python's internals, but not from asking
for more than the machine has: ``{{ 'x' * 300000000 }}`` builds 300 MB and ``{{ 9**(9**9) }}``
computes a 370-million-digit integer for ever. ``BoundedSandbox`` therefore

* sizes each operation that can make something big *before* it runs: the operators
  (``*``, ``**``, ``+``, ``-``, ``%``), ``~``, string methods (``ljust``, ``center``,
  ``zfill``, ``expandtabs``, ``replace``, ``join``, ``format``), the filters that widen, repeat
  or join (``center``, ``indent``, ``format``, ``join``, ``replace``, ``wordwrap``, ``batch``,
  ``slice``, ``sum``, ``round``, ``tojson``, ``urlize``, …), ``range``, ``lipsum`` and printing;
* measures every result after it (estimates can be off by the small factor escaping adds);
* counts one rendering's work: loop steps and calls (``MAX_STEPS``, so nested loops and
  branching recursion end) and the characters and items its operations build
  (``MAX_BUILT``, so a loop that makes a big string each time ends);
* stops the rendered text as it streams, once it passes ``MAX_TEXT``.

The limits, the budget and the size estimates are in template_limits.py. A refusal is a
``TemplateLimitError`` that says what was asked for and the limit, with no final period: the
caller names the template in its own sentence.
"""

from __future__ import annotations

import inspect
import types
from contextvars import ContextVar
from functools import update_wrapper, wraps
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.environment import Template
from jinja2.filters import make_attrgetter
from jinja2.runtime import LoopContext
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import generate_lorem_ipsum
from markupsafe import Markup  # jinja2's own string type for escaped text

from .template_limits import (
    MAX_RANGE_ITEMS,
    MAX_TEXT,
    TemplateLimitError,
    charge,
    check_items,
    check_power,
    check_repeat,
    check_sum,
    check_text,
    join_size,
    measured,
    percent_size,
    refuse,
    rendering,
    replace_size,
    sized_method_args,
    spec_width,
    step,
    text_size,
)

# -- filters and globals -------------------------------------------------------------------


def _environment(a: dict) -> Any:
    if "environment" in a:
        return a["environment"]
    if "env" in a:
        return a["env"]
    return a["eval_ctx"].environment


def _items_of(a: dict, key: str) -> list:
    """The filter's input as a list (with its ``attribute`` applied), put back in ``a``."""
    items = list(a[key])
    if a.get("attribute") is not None:
        getter = make_attrgetter(_environment(a), a["attribute"])
        items, a["attribute"] = [getter(item) for item in items], None
    a[key] = items
    return items


def _check_filter(name: str, what: str, a: dict) -> None:
    """Refuse a filter call that would make too much; may replace arguments in ``a``."""
    if name == "center":
        width = a["width"] if isinstance(a["width"], int) else 0
        check_text(what, max(text_size(a["value"]), width), isinstance(a["value"], str))
    elif name == "indent":
        width = a["width"]
        width = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        text = a["s"]
        lines = text.count("\n") + 1 if isinstance(text, str) else text_size(text) + 1
        check_text(what, text_size(text) + lines * max(width, 0), isinstance(text, str))
    elif name == "format":
        check_text(what, text_size(a["value"]), exact=False)
        check_text(what, percent_size(str(a["value"]), a["kwargs"] or a["args"]), exact=False)
    elif name == "join":
        items = a["value"] if isinstance(a["value"], str) else _items_of(a, "value")
        check_text(what, join_size(len(str(a["d"])), items), exact=False)
    elif name == "replace":
        check_text(what, text_size(a["s"]), exact=False)
        count = -1 if a["count"] is None else a["count"]
        check_text(what, replace_size(str(a["s"]), str(a["old"]), str(a["new"]), count))
    elif name == "wordwrap":
        text = str(a["s"])
        joint = a["wrapstring"] or _environment(a).newline_sequence
        width = max(a["width"], 1) if isinstance(a["width"], int) else 1
        check_text(what, len(text) + (len(text) // width + text.count("\n") + 1) * len(joint),
                   exact=False)
    elif name == "urlize":
        text = str(a["value"])
        extra = len(str(a["target"] or "")) + len(str(a["rel"] or "")) + 64
        check_text(what, 3 * len(text) + len(text.split()) * extra, exact=False)
    elif name == "tojson":
        indent = a["indent"]
        indent = len(indent) if isinstance(indent, str) else indent or 0
        check_text(what, text_size(a["value"], indent=max(indent, 0)), exact=False)
    elif name in ("batch", "slice"):
        size = a["linecount"] if name == "batch" else a["slices"]
        if isinstance(size, int):
            check_items(what, size)
    elif name == "sum" and not isinstance(a["start"], int | float):
        items = _items_of(a, "iterable")  # lists added up: each '+' copies what came before
        total = sum(len(item) for item in (a["start"], *items) if hasattr(item, "__len__"))
        check_items(what, total)
        charge(total * len(items))
    elif name == "round" and isinstance(a["precision"], int):
        check_power(what, 10, abs(a["precision"]))


# Filters with a size check of their own (above); their arguments are bound by name.
_CHECKED_FILTERS = frozenset({"center", "indent", "format", "join", "replace", "wordwrap",
                              "urlize", "tojson", "batch", "slice", "sum", "round"})
# Filters that turn their input into text: a list of many references to one long string
# would print as a very long one.
_PRINTING_FILTERS = frozenset({"string", "e", "escape", "forceescape", "safe", "pprint",
                               "striptags", "title", "capitalize", "upper", "lower", "trim",
                               "wordcount", "truncate", "urlencode", "xmlattr"})
# Filters that turn their input into a list: a long string would become one item per letter.
_LISTING_FILTERS = frozenset({"list", "sort", "unique", "batch", "slice", "groupby"})
# Filters that hand back something they were given: nothing new is built.
_PASSING_FILTERS = frozenset({"attr", "default", "d", "first", "last", "random", "min", "max"})


_COMPILING: ContextVar[bool] = ContextVar("template_compiling", default=False)


def _bounded_filter(name: str, function: Any) -> Any:
    lead = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0
    signature = inspect.signature(function) if name in _CHECKED_FILTERS else None
    what = f"the '{name}' filter"

    @wraps(function)  # keeps jinja_pass_arg: jinja2 still passes the context it asks for
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if _COMPILING.get():
            # jinja2 folds a filter of constants while it compiles, outside any budget: a
            # source with a thousand '|center(9000000)' would build them all. They run when
            # the template renders instead.
            raise nodes.Impossible()
        value = args[lead] if len(args) > lead else None
        if name in _PRINTING_FILTERS and not isinstance(value, str):
            check_text(what, text_size(value), exact=False)
        if name in _LISTING_FILTERS and isinstance(value, str | bytes):
            check_items(what, len(value))
        if signature is not None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            _check_filter(name, what, bound.arguments)
            args, kwargs = bound.args, bound.kwargs
        result = function(*args, **kwargs)
        return measured(what, result, new=name not in _PASSING_FILTERS and result is not value)

    return bounded


def _bounded_range(*args: Any) -> range:
    numbers = range(*args)
    length = max(0, (numbers.stop - numbers.start + numbers.step
                     - (1 if numbers.step > 0 else -1)) // numbers.step)
    if length > MAX_RANGE_ITEMS:
        refuse("range()", "a sequence", length, "numbers", MAX_RANGE_ITEMS)
    return numbers


_LIPSUM = inspect.signature(generate_lorem_ipsum)


def _bounded_lipsum(*args: Any, **kwargs: Any) -> str:
    a = _LIPSUM.bind(*args, **kwargs)
    a.apply_defaults()
    n, low, high = (a.arguments[key] for key in ("n", "min", "max"))
    if all(isinstance(number, int) for number in (n, low, high)):
        size = max(n, 0) * (max(low, high, 0) * 12 + 8)  # 12: a long word and a space
        check_text("lipsum()", size, exact=False)
    return generate_lorem_ipsum(*a.args, **a.kwargs)


# -- the environment -----------------------------------------------------------------------


def _printable(value: Any) -> Any:
    """``{{ value }}``'s finalize: a value is sized before it is turned into text."""
    if not isinstance(value, str):
        check_text("printing this value", text_size(value), exact=False)
    return value


def _bounded_concat(pieces: Any) -> str:
    """Joins a block's output (a macro, ``{% set %}…{% endset %}``, a ``{% call %}``)."""
    pieces = list(pieces)
    size = sum(map(len, pieces))
    check_text("this block", size)
    charge(size)
    return "".join(pieces)


class _BoundedFormatting:
    """Mixed into jinja2's sandboxed formatters: ``'{:>{}}'.format(…)`` sizes each field."""

    def vformat(self, format_string, args, kwargs):
        self._made = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def convert_field(self, value, conversion):
        if conversion in ("r", "a"):
            check_text("'format()'", self._made + text_size(value, inner=True), exact=False)
        return super().convert_field(value, conversion)

    def format_field(self, value, format_spec):
        size = self._made + text_size(value) + spec_width(format_spec)
        check_text("'format()'", size, exact=False)
        result = super().format_field(value, format_spec)
        self._made += len(result)
        return result


class _Formatter(_BoundedFormatting, SandboxedFormatter):
    pass


class _EscapeFormatter(_BoundedFormatting, SandboxedEscapeFormatter):
    pass


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles ``{% for %}`` to walk its items through ``bounded_loop`` and ``~`` to size its
    operands first (neither goes through an interceptable operator or call)."""

    def visit_For(self, node: nodes.For, frame) -> None:
        counted = nodes.Call(nodes.EnvironmentAttribute("bounded_loop"), [node.iter], [],
                             None, None, lineno=node.lineno)
        node.iter = counted.set_environment(self.environment)
        super().visit_For(node, frame)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame) -> None:  # jinja2's, sized
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"{join}(environment.bounded_operands((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write(")))")


class BoundedTemplate(Template):
    def render(self, *args: Any, **kwargs: Any) -> str:
        """The whole text, streamed and stopped once it passes ``MAX_TEXT``; the rendering's
        budget of steps and built characters starts afresh."""
        with rendering():
            stream = self.generate(*args, **kwargs)
            try:
                pieces, length = [], 0
                for piece in stream:
                    length += len(piece)
                    if length > MAX_TEXT:
                        raise TemplateLimitError(f"the rendered text passed {MAX_TEXT:,} "
                                                 "characters, the limit")
                    pieces.append(piece)
                return "".join(pieces)
            finally:
                stream.close()


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox with bounded sizes and work (the module's docstring)."""

    template_class = BoundedTemplate
    code_generator_class = _BoundedCodeGenerator
    # The operators that can make a bigger value than their operands. Unary '-' and '+' never
    # do, so no unary operator is intercepted.
    intercepted_binops = frozenset({"+", "-", "*", "**", "%"})
    concat = staticmethod(_bounded_concat)

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_printable, **options)
        self.globals["range"] = _bounded_range
        self.globals["lipsum"] = _bounded_lipsum
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def compile(self, *args: Any, **kwargs: Any) -> Any:
        token = _COMPILING.set(True)
        try:
            return super().compile(*args, **kwargs)
        finally:
            _COMPILING.reset(token)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "+" and type(left) is str and type(right) is str:
            # A chat template's everyday '+' (a message's parts put together), kept quick.
            check_text("'+'", len(left) + len(right))
            charge(len(left) + len(right))
            return left + right
        what = f"'{operator}'"
        if operator == "*":
            check_repeat(what, left, right)
        elif operator == "**":
            check_power(what, left, right)
        elif operator == "+":
            check_sum(what, left, right)
        elif operator == "%" and isinstance(left, str | bytes):
            check_text(what, percent_size(left, right), exact=False)
        return measured(what, super().call_binop(context, operator, left, right))

    def call(self, context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        step()
        if isinstance(obj, types.BuiltinMethodType | types.MethodType):  # of a str, a Markup, …
            owner, what = obj.__self__, f"'{obj.__name__}()'"
            args = sized_method_args(owner, obj.__name__, args, kwargs)
            result = super().call(context, obj, *args, **kwargs)
            # String and list methods build what they return; dict.get hands back what the
            # dict holds.
            built = isinstance(owner, str | bytes | list | tuple) and result is not owner
            return measured(what, result, new=built)
        if isinstance(obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (self.bounded_loop(args[0]), *args[1:])
        # A macro's text was counted as its block was joined.
        return measured("a call", super().call(context, obj, *args, **kwargs), new=False)

    def wrap_str_format(self, value: Any) -> Any:
        """jinja2's, with formatters that size each field before they format it."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) \
                or value.__name__ not in ("format", "format_map"):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        if isinstance(text, Markup):
            formatter: SandboxedFormatter = _EscapeFormatter(self, escape=text.escape)
        else:
            formatter = _Formatter(self)
        kind, is_map = type(text), value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} "
                                    "given)")
                args, kwargs = (), args[0]
            return kind(formatter.vformat(text, args, kwargs))

        return update_wrapper(wrapper, value)

    @staticmethod
    def bounded_loop(iterable: Any) -> Any:
        """A ``{% for %}``'s items, each one a step of the rendering's budget."""
        for item in iterable:
            step()
            yield item

    @staticmethod
    def bounded_operands(operands: tuple) -> tuple:
        """``a ~ b``'s operands, once their text is known to fit."""
        size = 0
        for operand in operands:
            size += text_size(operand, MAX_TEXT - size)
        check_text("'~'", size, exact=False)
        charge(size)
        return operands
