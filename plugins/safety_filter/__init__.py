"""Flag outputs that match word lists, regular expressions or PII patterns.

The blocked words are edited in the Plugins dialog (the ``register_settings`` hook); they are
read on every check, so a change applies without a restart. Configuration (optional):
``<config folder>/safety_filter.json``::

    {"words": ["confidential"], "patterns": ["(?i)password\\\\s*:"], "pii": true}
"""

from __future__ import annotations

import json
import re

from workbench.core.paths import app_paths
from workbench.plugins import hookimpl
from workbench.plugins.contributions import Flag, OutputFilter, Setting

__version__ = "1.0"

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){2,4}\b")
CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in re.sub(r"\D", "", number)][::-1]
    if not 13 <= len(digits) <= 19:
        return False
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
                for i, d in enumerate(digits))
    return total % 10 == 0


def config_file():
    return app_paths().config / "safety_filter.json"


def load_config() -> dict:
    try:
        return json.loads(config_file().read_text())
    except (OSError, ValueError):
        return {}


def load_words() -> list[str]:
    return [str(w) for w in load_config().get("words", [])]


def save_words(words: list[str]) -> None:
    """Keep the file's other keys (patterns, pii); write whole, then rename, so a check that
    reads meanwhile sees the old list or the new one, never half a file."""
    config = load_config()
    config["words"] = [w.strip() for w in words if w.strip()]
    target = config_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(config, indent=2, ensure_ascii=False))
    temporary.replace(target)


def check(text: str, config: dict | None = None) -> list[Flag]:
    config = load_config() if config is None else config
    flags: list[Flag] = []
    for word in config.get("words", []):
        for match in re.finditer(rf"(?i)\b{re.escape(word)}\b", text):
            flags.append(Flag(f"blocked word '{word}'", match.start(), match.end()))
    for pattern in config.get("patterns", []):
        for match in re.finditer(pattern, text):
            flags.append(Flag(f"matches /{pattern}/", match.start(), match.end()))
    if config.get("pii", True):
        for match in EMAIL.finditer(text):
            flags.append(Flag("email address", match.start(), match.end()))
        for match in CARD.finditer(text):
            if luhn_ok(match.group()):
                flags.append(Flag("payment card number", match.start(), match.end()))
        # Long digit runs are card-like whether or not they pass Luhn: never call them phones.
        card_like = [(m.start(), m.end()) for m in CARD.finditer(text)]
        for match in PHONE.finditer(text):
            inside_card = any(s <= match.start() < e for s, e in card_like)
            if not inside_card and 7 <= len(re.sub(r"\D", "", match.group())) <= 15:
                flags.append(Flag("phone number", match.start(), match.end()))
    return sorted(flags, key=lambda f: f.start)


@hookimpl
def register_output_filters(register):
    register(OutputFilter("safety filter", check))


@hookimpl
def register_settings(register):
    register(Setting("Blocked words", load_words, save_words,
                     "One word or phrase a line; an output containing one is flagged."))
