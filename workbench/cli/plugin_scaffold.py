"""The files of a new plugin package, put together from the templates in plugin_template/.

Each hook kind has two snippets, ``hooks/<hook>.py.tmpl`` (its implementation) and
``hooks/<hook>.test.py.tmpl`` (its test): imports first, then top-level blocks two blank lines
apart. A module is the chosen snippets' imports merged (sorted as ruff's isort sorts them) and
their blocks, a block shared by two snippets (``log = …``) written once.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from dataclasses import dataclass
from importlib import resources
from string import Template

from ..core.errors import WorkbenchError
from ..plugins import hookspecs

TEMPLATES = resources.files(__package__) / "plugin_template"
NAME = re.compile(r"[a-z][a-z0-9_-]*")
LINE_LIMIT = 99


def hook_names() -> list[str]:
    """Every hook a plugin can implement, in hookspecs.py's order."""
    return [name for name, value in vars(hookspecs).items()
            if inspect.isfunction(value) and hasattr(value, "workbench_spec")]


def kind_of(hook: str) -> str:
    """What a user types for a hook: ``register_scorers`` → ``scorer``; events as they are."""
    return hook.removeprefix("register_").removesuffix("s") if hook.startswith("register_") \
        else hook


def hooks_for(kinds: str) -> list[str]:
    """``scorer,backend`` (or ``scorers``, ``register_scorers``, ``all``) → hook names in
    hookspecs.py's order; an unknown word is an error that lists the known ones."""
    words = [w.strip().replace("-", "_") for w in kinds.split(",") if w.strip()]
    by_word = {}
    for hook in hook_names():
        by_word.update({hook: hook, kind_of(hook): hook, hook.removeprefix("register_"): hook})
    unknown = [w for w in words if w not in by_word and w != "all"]
    if unknown or not words:
        known = ", ".join(kind_of(h) for h in hook_names())
        raise WorkbenchError(f"unknown hook kind {', '.join(unknown) or '(none given)'}; "
                             f"choose from: {known} (or all)")
    chosen = set(hook_names()) if "all" in words else {by_word[w] for w in words}
    return [h for h in hook_names() if h in chosen]


@dataclass(frozen=True)
class PluginNames:
    plugin: str  # the entry point's name: what `workbench plugins` lists
    module: str  # the Python package
    dist: str  # the distribution (pip's name) and the folder

    @classmethod
    def of(cls, name: str) -> PluginNames:
        if not NAME.fullmatch(name):
            raise WorkbenchError(f"'{name}' cannot name a plugin: use lower-case letters, digits, "
                                 "'-' and '_', starting with a letter (e.g. my-scorer)")
        plugin = name.replace("-", "_")
        return cls(plugin, f"workbench_{plugin}", f"workbench-{name.replace('_', '-')}")


def plugin_files(names: PluginNames, hooks: list[str]) -> dict[str, str]:
    """Relative path → text of every file of the package."""
    kinds = [kind_of(h) for h in hooks]
    values = {
        "plugin": names.plugin, "module": names.module, "dist": names.dist,
        "scheme": names.plugin.replace("_", "-"),
        "title": names.plugin.replace("_", " ").capitalize(),
        "kinds": ", ".join(kinds), "kinds_csv": ",".join(kinds),
        "kinds_text": _wrapped(", ".join(k.replace("_", " ") for k in kinds),
                                "It implements "),
        "hook_names": "[\n" + "".join(f'        "{h}",\n' for h in sorted(hooks)) + "    ]",
        "hook_lines": "\n".join(f"- `{h}`: {_first_line(h)}" for h in hooks),
        "test_extras": ', "pytest-qt>=4.4"' if {"register_panels", "register_menu_actions"}
        & set(hooks) else "",
    }
    files = {
        "pyproject.toml": _fill("pyproject.toml.tmpl", values),
        "README.md": _fill("README.md.tmpl", values),
        f"{names.module}/__init__.py": _module(
            _fill("module_head.py.tmpl", values), names.module,
            [_fill(f"hooks/{h}.py.tmpl", values) for h in hooks],
            imports=("from workbench.plugins import hookimpl",), top='__version__ = "0.1.0"'),
        f"tests/test_{names.plugin}.py": _module(
            _fill("tests_head.py.tmpl", values), names.module,
            [_fill("tests_common.py.tmpl", values),
             *(_fill(f"hooks/{h}.test.py.tmpl", values) for h in hooks)]),
    }
    if "register_backends" in hooks:
        files[f"{names.module}/model.py"] = _fill("hooks/model.py.tmpl", values)
    return files


def _wrapped(text: str, lead: str) -> str:
    """``text`` as it continues a line that starts with ``lead``, wrapped to the line limit."""
    return textwrap.fill(lead + text, LINE_LIMIT - 3).removeprefix(lead)


def _first_line(hook: str) -> str:
    return (getattr(hookspecs, hook).__doc__ or "").strip().splitlines()[0]


def _fill(template: str, values: dict[str, str]) -> str:
    return Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def _module(head: str, own: str, snippets: list[str], *, imports: tuple[str, ...] = (),
            top: str = "") -> str:
    """The head (docstring), the snippets' imports merged with ``imports``, ``top`` (a line
    after the imports), then the snippets' blocks."""
    imports = list(imports)
    blocks: list[str] = []
    for snippet in snippets:
        lines = snippet.strip("\n").splitlines()
        cut = next((i for i, line in enumerate(lines)
                    if line.strip() and not line.startswith(("import ", "from "))), len(lines))
        imports += [line for line in lines[:cut] if line.strip()]
        for block in "\n".join(lines[cut:]).split("\n\n\n"):
            if block.strip() and block.strip() not in blocks:
                blocks.append(block.strip())
    parts = [head.rstrip("\n"), _sorted_imports(imports, own), top]
    return "\n\n".join(p for p in parts if p) + "\n\n\n" + "\n\n\n".join(blocks) + "\n"


def _sorted_imports(lines: list[str], own: str) -> str:
    """isort's layout: standard library, third party, this package, relative; plain imports
    before ``from`` imports in each; one ``from`` line per module."""
    plain: set[str] = set()
    names: dict[str, set[str]] = {}
    for line in lines:
        if line.startswith("import "):
            plain.add(line.removeprefix("import ").strip())
        else:
            module, _, imported = line.removeprefix("from ").partition(" import ")
            names.setdefault(module.strip(), set()).update(
                n.strip() for n in imported.split(","))

    def section(module: str) -> int:
        top = module.split(".")[0]
        return 3 if module.startswith(".") else 2 if top == own else \
            0 if top in sys.stdlib_module_names else 1

    sections: list[list[str]] = [[], [], [], []]
    for module in sorted(plain, key=str.lower):
        sections[section(module)].append(f"import {module}")
    for module in sorted(names, key=str.lower):
        sections[section(module)].append(_from_line(module, names[module]))
    return "\n\n".join("\n".join(s) for s in sections if s)


def _from_line(module: str, imported: set[str]) -> str:
    ordered = sorted(imported, key=_order_by_type)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= LINE_LIMIT:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in ordered) + ")"


def _order_by_type(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions — as isort's order-by-type."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name
