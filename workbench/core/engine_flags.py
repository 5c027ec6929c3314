"""llama.cpp command-line flags as text: what a user pastes from a llama-server command line.

The model bar and each variant take engine and sampling settings as the flags llama.cpp's own
tools use (``-fa off -ctk q8_0 --repeat-penalty 1.1``), so matching a server means copying its
command line. Parsing is strict: an unknown flag or a bad value is named, never skipped.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from .chat_template import CHOOSABLE_TEMPLATES
from .errors import SettingsError
from .model_info import CACHE_TYPES, FLASH_ATTN_MODES, LoadSettings
from .sampling import DEFAULTS, SamplingSettings
from .tokens import MAX_TOP_K


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.lower()
        if value not in choices:
            raise ValueError(f"one of {', '.join(choices)}")
        return value

    return parse


def _n_probs(value: str) -> int:
    """llama.cpp's ``--n-probs K``: the top-K alternatives reported per token (0: none)."""
    try:
        k = int(value)
    except ValueError:
        k = -1
    if not 0 <= k <= MAX_TOP_K:
        raise ValueError(f"a whole number from 0 to {MAX_TOP_K} (the most alternatives a "
                         "token can report)")
    return k


def _threads(value: str) -> int:
    """llama.cpp's ``-t N``: CPU threads (unset: the cores the machine's load leaves free)."""
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 512:
        raise ValueError("a whole number of threads from 1 to 512")
    return n


# flag -> (LoadSettings field, value parser)
ENGINE_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "-fa": ("flash_attn", _choice(FLASH_ATTN_MODES)),
    "--flash-attn": ("flash_attn", _choice(FLASH_ATTN_MODES)),
    "-ctk": ("cache_type_k", _choice(CACHE_TYPES)),
    "--cache-type-k": ("cache_type_k", _choice(CACHE_TYPES)),
    "-ctv": ("cache_type_v", _choice(CACHE_TYPES)),
    "--cache-type-v": ("cache_type_v", _choice(CACHE_TYPES)),
    "-b": ("n_batch", int),
    "--batch-size": ("n_batch", int),
    "-ub": ("n_ubatch", int),
    "--ubatch-size": ("n_ubatch", int),
    "-np": ("n_parallel", int),
    "--parallel": ("n_parallel", int),
    "-t": ("n_threads", _threads),
    "--threads": ("n_threads", _threads),
}
ENGINE_SHORT = {"flash_attn": "-fa", "cache_type_k": "-ctk", "cache_type_v": "-ctv",
                "n_batch": "-b", "n_ubatch": "-ub", "n_parallel": "-np"}
# -t is read but never written back: threads do not change the arithmetic, and the count
# llama.cpp resolved (recorded with outputs) must not pin a restored variant's threads.
# llama.cpp's defaults, as LoadSettings declares them (one place to change them).
ENGINE_DEFAULTS = {f.name: f.default for f in fields(LoadSettings) if f.name in ENGINE_SHORT}

# llama-server's --chat-template NAME: a built-in template (``raw``: raw completion, for a
# base model). Not arithmetic, but it decides the prompt's text: a variant's flag, recorded.
ENGINE_FLAGS["--chat-template"] = ("template_name", _choice(tuple(CHOOSABLE_TEMPLATES)))
ENGINE_SHORT["template_name"] = "--chat-template"
ENGINE_DEFAULTS["template_name"] = None

SAMPLING_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--temp": ("temperature", float), "--temperature": ("temperature", float),
    "--top-k": ("top_k", int), "--top-p": ("top_p", float), "--min-p": ("min_p", float),
    "--repeat-penalty": ("repeat_penalty", float), "--repeat-last-n": ("repeat_last_n", int),
    "--frequency-penalty": ("frequency_penalty", float),
    "--presence-penalty": ("presence_penalty", float),
    "--seed": ("seed", int), "-s": ("seed", int),
    "-n": ("max_tokens", int), "--n-predict": ("max_tokens", int),
    "--max-tokens": ("max_tokens", int),
    "--n-probs": ("logprobs", _n_probs),
}
SAMPLING_SHORT = {"temperature": "--temp", "top_k": "--top-k", "top_p": "--top-p",
                  "min_p": "--min-p", "repeat_penalty": "--repeat-penalty",
                  "repeat_last_n": "--repeat-last-n", "frequency_penalty": "--frequency-penalty",
                  "presence_penalty": "--presence-penalty", "seed": "--seed"}


def _parse(text: str, table: dict, what: str) -> dict[str, Any]:
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise SettingsError(f"{what}: {error}") from None
    values: dict[str, Any] = {}
    i = 0
    while i < len(words):
        flag = words[i]
        name, _, inline = flag.partition("=")
        if name not in table:
            known = ", ".join(sorted({k for k in table if k.startswith("--")}))
            raise SettingsError(f"{what}: unknown flag {name!r} (known: {known})")
        if inline:
            value = inline
        elif i + 1 < len(words):
            i += 1
            value = words[i]
        else:
            raise SettingsError(f"{what}: {name} needs a value")
        field, parse = table[name]
        try:
            values[field] = parse(value)
        except ValueError as error:
            # int/float say "invalid literal…"; the parsers written here say what they take.
            hint = f"a {parse.__name__} value" if parse in (int, float) else str(error)
            raise SettingsError(f"{what}: {name} {value!r} is not {hint}") from None
        i += 1
    return values


def parse_engine_flags(text: str) -> dict[str, Any]:
    """``-fa off -ctk q8_0`` → ``{"flash_attn": "off", "cache_type_k": "q8_0"}``."""
    return _parse(text, ENGINE_FLAGS, "Engine settings")


def format_engine_flags(engine: dict[str, Any]) -> str:
    """The flags that differ from llama.cpp's defaults, in the short form."""
    return " ".join(f"{ENGINE_SHORT[key]} {value}" for key, value in engine.items()
                    if key in ENGINE_SHORT and value is not None
                    and value != ENGINE_DEFAULTS[key])


def parse_sampling_flags(text: str, base: SamplingSettings = DEFAULTS) -> SamplingSettings:
    values = _parse(text, SAMPLING_FLAGS, "Sampling settings")
    try:
        return base.with_sent(**values)  # a server is sent what the flags set, too
    except (TypeError, ValueError) as error:
        raise SettingsError(f"Sampling settings: {error}") from None


def format_sampling_flags(settings: SamplingSettings, skip: tuple[str, ...] = ()) -> str:
    """Every setting that differs from llama.cpp's defaults, as flags (what a row shows)."""
    changed = settings.non_defaults()
    flags = [f"{SAMPLING_SHORT[key]} {value:g}" if isinstance(value, float) else
             f"{SAMPLING_SHORT[key]} {value}"
             for key, value in changed.items() if key in SAMPLING_SHORT and key not in skip]
    if settings.logprobs and "logprobs" not in skip:  # not a sampling change, but it is set
        flags.append(f"--n-probs {settings.logprobs}")
    return " ".join(flags)
