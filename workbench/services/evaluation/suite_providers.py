"""A suite's providers as promptfoo writes them, run through the app's backends.

A provider id is a library model's name, a GGUF path, a backend reference
(``openai+http://…/v1?model=NAME``, ``ollama+http://…:11434?model=NAME``), or one of
promptfoo's ids for the servers people run themselves, turned into such a reference when the
suite is read (``resolve_provider``):

- ``openai:chat:MODEL``, ``openai:completion:MODEL``, ``openai:MODEL`` (chat, unless MODEL is
  one of OpenAI's completion models) → ``openai+BASE?model=MODEL&api=chat|completion``. BASE
  as promptfoo finds it: ``apiHost`` (``https://HOST/v1``), ``apiBaseUrl``, ``OPENAI_API_HOST``,
  ``OPENAI_API_BASE_URL`` / ``OPENAI_BASE_URL``, else OpenAI's API; the key from ``apiKey``,
  else the variable ``apiKeyEnvar`` names, else ``OPENAI_API_KEY``. LM Studio, llama-server
  and vLLM are ``openai:chat:MODEL`` with their ``apiBaseUrl`` (promptfoo has no ids of their
  own).
- ``ollama:chat:MODEL``, ``ollama:completion:MODEL``, ``ollama:MODEL`` (completion) →
  ``ollama+BASE?model=MODEL&api=chat|generate``, BASE from ``OLLAMA_BASE_URL``, else
  http://localhost:11434: Ollama's own API, as promptfoo uses it (plugins/openai_compat/
  ollama.py says why not its OpenAI-compatible /v1).

A request carries what promptfoo's provider sends: the config's settings as written, with
promptfoo's defaults for OpenAI (``CHAT_DEFAULTS``, ``COMPLETION_DEFAULTS``), and its request
keys (``response_format``, ``tools``, …, ``passthrough`` merged last). A reference written as
such sends the settings its config gives and ``max_tokens`` (the app's 256 unless set).
Nothing else: a server's own defaults apply to the rest (``sampling_of`` in suite_session).
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from ...core.sampling import DEFAULTS
from ...core.suites import Suite, SuiteProblem, SuiteProvider
from .suite_yaml import LinedMap, SuiteReader, is_number, plain

# The sampling settings a provider's ``config`` may set (SamplingSettings' names) and their kind.
CONFIG_KINDS: dict[str, type] = {
    "temperature": float, "max_tokens": int, "top_p": float, "top_k": int, "min_p": float,
    "seed": int, "stop": list, "repeat_penalty": float, "frequency_penalty": float,
    "presence_penalty": float,
}
OPENAI_API = "https://api.openai.com/v1"
OLLAMA_API = "http://localhost:11434"
OPENAI_COMPLETION_MODELS = ("gpt-3.5-turbo-instruct", "davinci-002", "babbage-002")
COMPLETION_STOP = ["<|im_end|>", "<|endoftext|>"]  # promptfoo's stop for openai:completion
# What promptfoo's OpenAI providers send when the config does not say: setting -> (the
# variable that overrides the default, the default; None: sent only when set).
CHAT_DEFAULTS: dict[str, tuple[str, Any]] = {
    "temperature": ("OPENAI_TEMPERATURE", 0.0), "max_tokens": ("OPENAI_MAX_TOKENS", 1024),
    "top_p": ("OPENAI_TOP_P", None), "presence_penalty": ("OPENAI_PRESENCE_PENALTY", None),
    "frequency_penalty": ("OPENAI_FREQUENCY_PENALTY", None),
}
COMPLETION_DEFAULTS: dict[str, tuple[str, Any]] = {
    "max_tokens": ("OPENAI_MAX_TOKENS", 1024), "temperature": ("OPENAI_TEMPERATURE", 0.0),
    "top_p": ("OPENAI_TOP_P", 1.0), "presence_penalty": ("OPENAI_PRESENCE_PENALTY", 0.0),
    "frequency_penalty": ("OPENAI_FREQUENCY_PENALTY", 0.0),
}
# promptfoo's OpenAI settings that are not in the request body (where, and which key).
OPENAI_CONNECTION = ("apiBaseUrl", "apiHost", "apiKey", "apiKeyEnvar", "apiKeyRequired",
                     "omitDefaults")
# Request keys sent as written: those promptfoo's chat provider puts in its body, and
# ``best_of`` of its completion provider; ``passthrough``: any keys, merged last.
OPENAI_BODY = ("response_format", "tools", "tool_choice", "functions", "function_call", "user",
               "metadata", "store", "best_of", "passthrough")
OPENAI_SENT = ("temperature", "max_tokens", "top_p", "presence_penalty", "frequency_penalty",
               "seed", "stop")  # the settings promptfoo's OpenAI providers send
# Ollama: its options that are not SamplingSettings' (num_predict is max_tokens), and the keys
# beside ``options`` in its request.
OLLAMA_OPTIONS = ("num_predict", "num_keep", "typical_p", "num_ctx", "num_batch", "num_gpu",
                  "main_gpu", "use_mmap", "num_thread")
OLLAMA_TOP = {"chat": ("think", "keep_alive", "format", "tools", "passthrough"),
              "generate": ("think", "keep_alive", "format", "suffix", "system", "template",
                           "raw", "passthrough")}
FILE_KEYS = ("tools", "functions", "response_format")  # promptfoo reads a file:// here
ACCEPTED = ("openai:chat:MODEL, openai:completion:MODEL, openai:MODEL (LM Studio, llama-server "
            "and vLLM too, with config.apiBaseUrl or OPENAI_BASE_URL), ollama:chat:MODEL, "
            "ollama:completion:MODEL, ollama:MODEL, openai+http://HOST/v1?model=NAME, "
            "ollama+http://HOST:11434?model=NAME, a library model's name or a .gguf path")
PROVIDER_ID = re.compile(r"^[A-Za-z][\w.-]*:[^/\\]")  # promptfoo's "vendor:…" shape

Report = Callable[[str, str], None]  # (config key or "id", message)


def kind_of(ident: str) -> str:
    """``openai:``/``ollama:`` (promptfoo's ids), ``openai+``/``ollama+`` (references),
    ``backend`` (another plugin's ``scheme+…``) or ``local``."""
    head = ident.split("://", 1)[0]
    if "://" in ident and "+" in head:
        scheme = head.split("+", 1)[0]
        return f"{scheme}+" if scheme in ("openai", "ollama") else "backend"
    prefix = ident.split(":", 1)[0]
    return f"{prefix}:" if ":" in ident and prefix in ("openai", "ollama") else "local"


def is_remote(ident: str) -> bool:
    return kind_of(ident) in ("openai+", "ollama+", "backend")


# -- reading a provider's config -----------------------------------------------------------

def read_config_entry(reader: SuiteReader, ident: str, key: Any, value: Any,
                      line: int | None, config: dict[str, Any]) -> None:
    """One key of a provider's ``config`` (other than ``retrieval``) into ``config``, as
    written, or a problem at its line."""
    key = str(key)
    allowed = allowed_keys(ident)
    kind = int if key in OLLAMA_OPTIONS[:1] else CONFIG_KINDS.get(key)
    if key not in allowed:
        reader.problem(line, key, _not_allowed(ident, key, allowed))
    elif kind is list:
        stops = [value] if isinstance(value, str) else value
        if isinstance(stops, list) and all(isinstance(s, str) for s in stops):
            config[key] = list(stops)
        else:
            reader.problem(line, key, "takes a text or a list of texts")
    elif kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
        reader.problem(line, key, f"takes a whole number, not {value!r}")
    elif kind is float and not is_number(value):
        reader.problem(line, key, f"takes a number, not {value!r}")
    elif key in ("apiBaseUrl", "apiHost", "apiKey", "apiKeyEnvar") \
            and not isinstance(value, str):
        reader.problem(line, key, f"takes a text, not {value!r}")
    elif key in ("apiKeyRequired", "omitDefaults") and not isinstance(value, bool):
        reader.problem(line, key, f"takes true or false, not {value!r}")
    elif key == "passthrough" and not isinstance(value, dict):
        reader.problem(line, key, "takes a mapping of request keys")
    elif key in FILE_KEYS and isinstance(value, str) and value.startswith("file://"):
        reader.problem(line, key, "a file:// reference is not read here; write the value "
                                  "itself in the suite")
    else:
        config[key] = plain(value)


def allowed_keys(ident: str) -> tuple[str, ...]:
    kind = kind_of(ident)
    if kind == "openai:":
        return (*CONFIG_KINDS, *OPENAI_CONNECTION, *OPENAI_BODY)
    if kind == "openai+":
        return (*CONFIG_KINDS, *OPENAI_BODY)
    if kind in ("ollama:", "ollama+"):
        return (*CONFIG_KINDS, *OLLAMA_OPTIONS, *OLLAMA_TOP[_ollama_api(ident)])
    return tuple(CONFIG_KINDS)


def _not_allowed(ident: str, key: str, allowed: tuple[str, ...]) -> str:
    kind = kind_of(ident)
    server_key = key in (*OPENAI_CONNECTION, *OPENAI_BODY, *OLLAMA_OPTIONS,
                         *OLLAMA_TOP["generate"], "tools")
    if kind == "local" and server_key:
        return (f"a setting for a server, and '{ident}' is a local model (a server is named "
                f"by promptfoo's openai:chat:MODEL with apiBaseUrl, or an openai+http://… "
                f"reference); supported in config: {', '.join(allowed)}, retrieval")
    if kind == "openai+" and key in OPENAI_CONNECTION:
        return ("the reference itself says where the server is and which key to use "
                "(…?model=NAME&key_env=VAR); or write promptfoo's openai:chat:MODEL with "
                f"{key}")
    what = "a sampling setting Prompt Workbench knows" if kind in ("local", "backend") else \
        f"a setting Prompt Workbench sends to {ident.split(':', 1)[0].split('+', 1)[0]} servers"
    return f"not {what}; supported in config: {', '.join(allowed)}, retrieval"


# -- promptfoo's ids as references -----------------------------------------------------------

def read_provider(reader: SuiteReader, provider: SuiteProvider,
                  node: Any) -> SuiteProvider | None:
    """``resolve_provider`` for a provider read from a file: problems at their keys' lines."""
    def report(key: str, message: str) -> None:
        at = node.line_of(key) if isinstance(node, LinedMap) and key in node else provider.line
        reader.problem(at, "providers" if key == "id" else key, message)
    return resolve_provider(provider, report)


def resolve_provider(provider: SuiteProvider, report: Report) -> SuiteProvider | None:
    """The provider as the app runs it: a promptfoo id as a backend reference (labelled with
    the id, unless it has a label), its config as sent, with notes on where it goes; None
    when the id cannot be run (said through ``report``)."""
    kind = kind_of(provider.id)
    if kind == "openai:":
        return _openai(provider, report)
    if kind in ("ollama:", "ollama+"):
        return _ollama(provider, report)
    if kind == "openai+" and "max_tokens" not in provider.config:
        # the app's own form: bounded answers, as a local model's (the app's default)
        return SuiteProvider(provider.id, provider.label,
                             {**provider.config, "max_tokens": DEFAULTS.max_tokens},
                             provider.line, provider.notes)
    return provider


def _openai(provider: SuiteProvider, report: Report) -> SuiteProvider | None:
    ident, config = provider.id, dict(provider.config)
    parts = ident.split(":")[1:]
    word = parts[0] if parts else ""
    notes = []
    if word in ("chat", "completion"):
        api, model = word, ":".join(parts[1:])
    elif word in ("embedding", "embeddings", "image", "moderation", "realtime", "responses",
                  "assistant", "audio", "transcription", "tts", "video"):
        report("id", f"'{ident}': promptfoo's openai:{word}: provider does not generate "
                     f"text through chat or completions; accepted: {ACCEPTED}")
        return None
    else:  # promptfoo's openai:MODEL: its completion models, else a chat model named MODEL
        api = "completion" if word in OPENAI_COMPLETION_MODELS else "chat"
        model = word
        if len(parts) > 1:
            notes.append(f"promptfoo reads {ident} as the model '{word}' (write "
                         f"openai:chat:{':'.join(parts)} for the model "
                         f"'{':'.join(parts)}')")
    base = _openai_base(config)
    key, key_env = config.pop("apiKey", None), config.pop("apiKeyEnvar", None)
    required = config.pop("apiKeyRequired", True)
    query = {"model": model or None, "api": api}
    if isinstance(key, str) and key:
        query["key"] = key
    elif key_env:
        query["key_env"] = key_env
    if not (query.get("key") or os.environ.get(key_env or "OPENAI_API_KEY")) \
            and required is not False:
        notes.append("sent without an API key (promptfoo stops without one unless "
                     "apiKeyRequired: false)")
    sent = [k for k in config if k in CONFIG_KINDS and k not in OPENAI_SENT]
    if sent:
        notes.append(f"{', '.join(sent)} also sent, which promptfoo's openai provider "
                     "leaves out (it sends such keys only under passthrough)")
    if not model:
        notes.append("no model named: the server's only model is asked for (promptfoo "
                     "would ask for its default OpenAI model)")
    config = _with_openai_defaults(config, api, report)
    path = "chat/completions" if api == "chat" else "completions"
    notes.insert(0, f"{ident} → {base}/{path}")
    return SuiteProvider(_reference("openai", base, query), provider.label or ident, config,
                         provider.line, ("; ".join(notes),))


def _openai_base(config: dict[str, Any]) -> str:
    """Where promptfoo's OpenAI provider sends its requests (OpenAiGenericProvider.getApiUrl)."""
    host, base = config.pop("apiHost", None), config.pop("apiBaseUrl", None)
    env_host = os.environ.get("OPENAI_API_HOST")
    found = (f"https://{host}/v1" if host else base
             or (f"https://{env_host}/v1" if env_host else None)
             or os.environ.get("OPENAI_API_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
             or OPENAI_API)
    return found.rstrip("/")


def _with_openai_defaults(config: dict[str, Any], api: str, report: Report) -> dict[str, Any]:
    """The config with what promptfoo sends when it does not say (its variables first)."""
    omit = config.pop("omitDefaults", False) and api == "chat"
    config = dict(config)
    for name, (variable, default) in (CHAT_DEFAULTS if api == "chat"
                                      else COMPLETION_DEFAULTS).items():
        if name in config:
            continue
        value = _env_number(variable, int if name == "max_tokens" else float, report)
        if value is None and not omit:
            value = default
        if value is not None:
            config[name] = value
    if api == "completion":
        stop = os.environ.get("OPENAI_STOP")
        if stop:  # promptfoo lets the variable win over the config here
            try:
                config["stop"] = json.loads(stop)
            except ValueError:
                report("stop", f"OPENAI_STOP is not JSON: {stop!r}")
        config.setdefault("stop", list(COMPLETION_STOP))
        if "best_of" not in config:
            config["best_of"] = _env_number("OPENAI_BEST_OF", int, report) or 1
    return config


def _env_number(variable: str, kind: type, report: Report):
    text = os.environ.get(variable)
    if not text:
        return None
    try:
        return kind(float(text)) if kind is int else kind(text)
    except ValueError:
        report("id", f"{variable} is not a number: {text!r}")
        return None


def _ollama_api(ident: str) -> str:
    """``chat`` or ``generate``: an ollama: id's endpoint (promptfoo's ollama:MODEL is a
    completion), a reference's ``api``."""
    if kind_of(ident) == "ollama+":
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(ident).query))
        return "generate" if query.get("api") == "generate" else "chat"
    return "chat" if ident.split(":")[1:2] == ["chat"] else "generate"


def _ollama(provider: SuiteProvider, report: Report) -> SuiteProvider | None:
    ident, config = provider.id, dict(provider.config)
    api, notes = _ollama_api(ident), []
    if "num_predict" in config and "max_tokens" in config:
        report("num_predict", "num_predict and max_tokens say the same (the most tokens of "
                              "an answer): keep one")
        return None
    if "max_tokens" in config and kind_of(ident) == "ollama:":
        notes.append("max_tokens sent as options.num_predict (promptfoo's ollama provider "
                     "leaves max_tokens out)")
    if "num_predict" in config:
        config["max_tokens"] = config.pop("num_predict")
    options = {k: config.pop(k) for k in OLLAMA_OPTIONS if k in config}
    if options:
        config["options"] = options
    if kind_of(ident) == "ollama+":  # the app's own form: bounded answers, as ``openai+``
        config.setdefault("max_tokens", DEFAULTS.max_tokens)
        return SuiteProvider(provider.id, provider.label, config, provider.line,
                             provider.notes)
    parts = ident.split(":")[1:]
    if parts[:1] in (["embedding"], ["embeddings"]):
        report("id", f"'{ident}': promptfoo's ollama:{parts[0]}: provider does not generate "
                     f"text; accepted: {ACCEPTED}")
        return None
    model = ":".join(parts[1:] if parts[:1] in (["chat"], ["completion"]) else parts)
    if not model:
        report("id", f"'{ident}' names no model: write ollama:chat:MODEL")
        return None
    base = (os.environ.get("OLLAMA_BASE_URL") or OLLAMA_API).rstrip("/")
    notes.insert(0, f"{ident} → {base}/api/{api} (Ollama's own API, as promptfoo uses it)")
    return SuiteProvider(_reference("ollama", base, {"model": model, "api": api}),
                         provider.label or ident, config, provider.line, ("; ".join(notes),))


def _reference(scheme: str, base: str, query: dict[str, str | None]) -> str:
    given = urllib.parse.urlencode([(k, v) for k, v in query.items() if v is not None])
    return f"{scheme}+{base}?{given}"


# -- what the rest of the app asks ------------------------------------------------------------

def request_keys(config: dict[str, Any]) -> dict[str, Any]:
    """A provider's request keys as its backend is sent them: every key of its config that is
    not a setting or the retrieval, then ``passthrough``'s (its ``options`` merged into the
    others', as promptfoo merges Ollama's)."""
    keys = {k: v for k, v in config.items()
            if k not in CONFIG_KINDS and k not in ("retrieval", "passthrough")}
    for key, value in (config.get("passthrough") or {}).items():
        if key == "options" and isinstance(value, dict) and isinstance(keys.get(key), dict):
            keys[key] = {**keys[key], **value}
        else:
            keys[key] = value
    return keys


STREAMED = ("promptfoo's openai: providers are asked as promptfoo asks them, but streamed "
            "(stream: true; promptfoo waits for the whole answer, and the text is the same)")


def provider_notes(suite: Suite, providers: list[SuiteProvider]) -> list[str]:
    """What a run says once about its providers: ``file:line: note`` each (``-m`` for a
    model given on the command line), and once that promptfoo's OpenAI ids are streamed."""
    notes = [f"{suite.source}:{p.line}: {note}" if p.line else f"-m: {note}"
             for p in providers for note in p.notes]
    if any(p.notes and kind_of(p.id) == "openai+" for p in providers):
        notes.append(STREAMED)
    return notes


def with_hint(provider: SuiteProvider, problem: str | None) -> str | None:
    """A server problem of a promptfoo id that went to OpenAI's own API, with what to set."""
    if problem and provider.notes and provider.id.startswith(f"openai+{OPENAI_API}?"):
        return (f"{problem} — {provider.name} goes to OpenAI's API unless config.apiBaseUrl "
                "(or OPENAI_BASE_URL) names your server, e.g. apiBaseUrl: "
                "http://127.0.0.1:8080/v1")
    return problem


def unknown_id_hint(reference: str) -> str:
    """For a model that is not found: the provider ids a suite can use, when it looks like
    it meant one of promptfoo's."""
    if not PROVIDER_ID.match(reference):
        return ""
    return f" '{reference}' is not a provider id Prompt Workbench runs; accepted: {ACCEPTED}."


def completion_problems(suite: Suite, providers: list[SuiteProvider]) -> list[SuiteProblem]:
    """A completion endpoint takes one text: a chat prompt (a system message or examples)
    cannot go to one."""
    chats = [str(number) for number, prompt in enumerate(suite.prompts, 1)
             if prompt.system or prompt.examples]
    problems = []
    for provider in providers:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(provider.id).query))
        if not chats or kind_of(provider.id) not in ("openai+", "ollama+") \
                or query.get("api") not in ("completion", "generate"):
            continue
        which = f"prompt {chats[0]} is a chat" if len(chats) == 1 else \
            f"prompts {', '.join(chats)} are chats"
        problems.append(SuiteProblem(
            suite.source, provider.line, "providers",
            f"{provider.name} sends one text to a completion endpoint, and {which} (a system "
            "message or examples): use the chat provider (openai:chat:MODEL, "
            "ollama:chat:MODEL)"))
    return problems


# -- a judge's or an embedding model's provider ------------------------------------------------

EMBEDDING_WORDS = ("embedding", "embeddings")


def judge_reference(reader: SuiteReader, value: Any, line: int | None) -> str | None:
    """A judge's (or ``similar``'s embedding) model: a model reference, or promptfoo's
    ``{id, config}`` with the same ids and connection keys as a provider
    (``openai:chat:M`` with ``apiBaseUrl``/``apiKey``…, ``openai:embedding:M`` for
    ``similar``, ``ollama:chat:M``), read as the backend reference that reaches it."""
    config: dict[str, Any] = {}
    if isinstance(value, LinedMap):
        reader.unsupported(value, ("id", "config"), "in a judge provider")
        raw = value.get("config")
        if raw is not None and not isinstance(raw, dict):
            reader.problem(value.line_of("config"), "provider", "config must be a mapping")
        config = dict(plain(raw)) if isinstance(raw, dict) else {}
        line = value.line_of("id") if "id" in value else line
        value = value.get("id")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        reader.problem(line, "provider", "must be a model reference")
        return None
    if kind_of(value) not in ("openai:", "ollama:"):
        return value
    parts = value.split(":")
    if parts[0] == "openai" and len(parts) > 2 and parts[1] in EMBEDDING_WORDS:
        value = ":".join(["openai", "chat", *parts[2:]])  # the server's /v1/embeddings
    # Only where to connect matters for a judge: it samples with its own grammar.
    connection = {k: v for k, v in config.items()
                  if k in ("apiBaseUrl", "apiHost", "apiKey", "apiKeyEnvar", "apiKeyRequired")}
    resolved = resolve_provider(SuiteProvider(value, config=connection, line=line),
                                lambda _key, message: reader.problem(line, "provider",
                                                                     message))
    return resolved.id if resolved is not None else None
