"""How a suite's prompts and providers are read: a mixin of the suite parser (suite_file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...core.prompts import FewShotExample
from ...core.suites import SuitePrompt, SuiteProvider
from .suite_providers import read_config_entry, read_provider
from .suite_retrieval import read_retrieval
from .suite_yaml import (
    FILE,
    LinedMap,
    LinedSeq,
    SuiteReader,
    json_chat,
    text_of,
    unlined,
)

PROMPT_KEYS = ("id", "label", "raw")
PROVIDER_KEYS = ("id", "label", "config")
MESSAGE_KEYS = ("role", "content")


def text_file_prompts(text: str, delimiter: str = "---") -> list[str]:
    """A ``.txt`` prompt file as promptfoo reads it (src/prompts/processors/text.ts): split at
    lines that are the delimiter, each part trimmed of surrounding whitespace, empty parts
    left out."""
    parts, lines = [], []
    for line in [*re.split(r"\r?\n", text), delimiter]:
        if line.strip() == delimiter:
            if "\n".join(lines).strip():
                parts.append("\n".join(lines).strip())
            lines = []
        else:
            lines.append(line)
    return parts


class PromptReading:
    """Prompts (texts, chats, files) and providers (model references with sampling config)."""

    def prompts(self, reader: SuiteReader, node: Any, line: int | None) -> list[SuitePrompt]:
        if node is None:
            return []
        if isinstance(node, str):
            node, lines = [node], [line]
        elif isinstance(node, LinedMap):  # promptfoo's {prompt: label} form
            return [prompt for raw, label in node.items()
                    for prompt in self.prompt_texts(reader, str(raw),
                                                    str(raw if label is None else label),
                                                    node.line_of(raw), "prompts")]
        elif isinstance(node, LinedSeq):
            lines = node.item_lines
        else:
            reader.problem(line, "prompts", "must be a list of prompts")
            return []
        prompts = []
        for number, (item, item_line) in enumerate(zip(node, lines), 1):
            if isinstance(item, str):  # a text file may hold several
                prompts += self.prompt_texts(reader, item, item, item_line, "prompts")
                continue
            prompt = self.prompt(reader, item, item_line, f"prompt {number}")
            if prompt is not None:
                prompts.append(prompt)
        return prompts

    def prompt(self, reader: SuiteReader, item: Any, line: int | None,
               default_label: str) -> SuitePrompt | None:
        if isinstance(item, str):
            return self.prompt_text(reader, item, item, line, "prompts")
        if isinstance(item, LinedSeq):
            return self.chat(reader, item, default_label, line)
        if not isinstance(item, LinedMap):
            reader.problem(line, "prompts", "a prompt is a text, an object {id, label, raw} "
                                            "or a chat list of {role, content}")
            return None
        reader.unsupported(item, PROMPT_KEYS, "in a prompt")
        raw, ident, label = (text_of(reader, item.get(key), item.line_of(key), key)
                             for key in ("raw", "id", "label"))
        if raw is None and ident is None:
            reader.problem(line, "prompts", "a prompt object needs raw (its text) or id "
                                            "(a file:// reference)")
            return None
        label = label or ident or raw
        if raw is None:
            return self.prompt_text(reader, ident, label, line, "id")
        return self.prompt_from_text(reader, raw, label, line)

    def prompt_text(self, reader: SuiteReader, text: str, label: str, line: int | None,
                    key: str) -> SuitePrompt | None:
        """A prompt given as text or as a ``file://`` reference to one."""
        if not text.startswith(FILE):
            return self.prompt_from_text(reader, text, label, line)
        suffix = Path(text).suffix.lower()
        if suffix in (".json", ".yaml", ".yml"):
            loaded = reader.load(text, line, key)
            if loaded is None:
                return None
            data, file_reader = loaded
            if not isinstance(data, LinedSeq):
                file_reader.problem(None, "prompt", "a .json or .yaml prompt file holds a chat: "
                                                    "a list of {role, content} messages")
                return None
            return self.chat(file_reader, data, label, line)
        if suffix not in (".txt", ".md", ""):
            reader.problem(line, key, f"prompt files are .txt, .md, .json or .yaml, not "
                                      f"{suffix} (prompt functions are not supported)")
            return None
        found = reader.read(text, line, key)
        if found is None:
            return None
        if suffix == ".txt":  # trimmed, as promptfoo reads it
            parts = text_file_prompts(found[0])
            if len(parts) > 1:
                reader.problem(line, key, f"{text} holds {len(parts)} prompts (parts between "
                                          "--- lines): name it directly under prompts for "
                                          "one prompt each")
                return None
            found = ((parts or [""])[0], found[1])
        return self.prompt_from_text(found[1], found[0], label, line)

    def prompt_texts(self, reader: SuiteReader, text: str, label: str, line: int | None,
                     key: str) -> list[SuitePrompt]:
        """``prompt_text``, except that a ``file://….txt`` holding several prompts (parts
        between ``---`` lines, as promptfoo splits it) gives one prompt per part, labelled
        ``file://….txt: 1``, ``: 2`` …"""
        if text.startswith(FILE) and Path(text).suffix.lower() == ".txt":
            found = reader.read(text, line, key)
            if found is None:
                return []
            parts = text_file_prompts(found[0])
            if len(parts) > 1:
                return [prompt for number, part in enumerate(parts, 1)
                        for prompt in [self.prompt_from_text(
                            found[1], part, f"{label}: {number}", line)]
                        if prompt is not None]
        prompt = self.prompt_text(reader, text, label, line, key)
        return [] if prompt is None else [prompt]

    def prompt_from_text(self, reader: SuiteReader, text: str, label: str,
                         line: int | None) -> SuitePrompt | None:
        messages = json_chat(text)  # promptfoo sends a JSON chat array as a chat
        if messages is not None:
            return self.chat(reader, unlined(messages, line), label, line)
        return SuitePrompt(label=label, user_template=text, line=line)

    def chat(self, reader: SuiteReader, messages: LinedSeq, label: str,
             line: int | None) -> SuitePrompt | None:
        roles, contents = [], []
        for index, message in enumerate(messages):
            message_line = messages.item_lines[index] or line
            if isinstance(message, LinedMap):
                reader.unsupported(message, MESSAGE_KEYS, "in a chat message")
            if not (isinstance(message, dict) and isinstance(message.get("role"), str)
                    and isinstance(message.get("content"), str)):
                reader.problem(message_line, "prompts",
                               "each chat message needs a role and a text content")
                return None
            roles.append(message["role"])
            contents.append(message["content"])
        system = ""
        if roles[:1] == ["system"]:
            system, roles, contents = contents[0], roles[1:], contents[1:]
        expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(roles))]
        if not roles or len(roles) % 2 == 0 or roles != expected:
            reader.problem(line, "prompts", "a chat prompt is an optional system message, then "
                           "user/assistant pairs (few-shot examples), then the user message; "
                           f"found: {', '.join(roles) or 'no user message'}")
            return None
        examples = tuple(FewShotExample(contents[i], contents[i + 1])
                         for i in range(0, len(contents) - 1, 2))
        return SuitePrompt(label=label, user_template=contents[-1], system=system,
                           examples=examples, line=line)

    # providers

    def providers(self, reader: SuiteReader, node: Any, line: int | None) -> list[SuiteProvider]:
        if node is None:
            return []
        if isinstance(node, str):
            node, lines = [node], [line]
        elif isinstance(node, LinedSeq):
            lines = node.item_lines
        else:
            reader.problem(line, "providers", "must be a list of model references")
            return []
        providers = []
        for item, item_line in zip(node, lines):
            provider = self.provider(reader, item, item_line)
            if provider is not None:
                providers.append(provider)
        return providers

    def provider(self, reader: SuiteReader, item: Any, line: int | None) -> SuiteProvider | None:
        if isinstance(item, str) and item.strip():
            return read_provider(reader, SuiteProvider(id=item, line=line), None)
        if not isinstance(item, LinedMap):
            reader.problem(line, "providers", "a provider is a model reference or "
                                              "{id, label, config}")
            return None
        ident = None
        if len(item) == 1 and isinstance(next(iter(item.values())), LinedMap) \
                and next(iter(item)) not in PROVIDER_KEYS:  # promptfoo's {model: {config…}}
            ident, item = str(next(iter(item))), next(iter(item.values()))
        reader.unsupported(item, PROVIDER_KEYS, "in a provider")
        ident = ident or text_of(reader, item.get("id"), item.line_of("id"), "id")
        if not ident:
            reader.problem(line, "providers", "a provider object needs an id (the model)")
            return None
        label = text_of(reader, item.get("label"), item.line_of("label"), "label") or ""
        node = item.get("config")
        config = self.config(reader, node, item.line_of("config"), ident)
        # promptfoo's openai:/ollama: ids become backend references here (suite_providers.py)
        return read_provider(reader, SuiteProvider(id=ident, label=label, config=config,
                                                   line=line), node)

    def config(self, reader: SuiteReader, node: Any, line: int | None,
               ident: str = "") -> dict[str, Any]:
        """Sampling settings, and for a server its connection and request keys
        (suite_providers.read_config_entry says which)."""
        if node is None:
            return {}
        if not isinstance(node, LinedMap):
            reader.problem(line, "config", "must be a mapping of sampling settings")
            return {}
        config: dict[str, Any] = {}
        for key, value in node.items():
            key_line = node.line_of(key)
            if key == "retrieval":  # {{ context }} from a document set (suite_retrieval.py)
                self.retrieval_seen = True  # even a wrong one: no noise about {{context}}
                found = read_retrieval(reader, value, key_line)
                if found is not None:
                    config[key] = found
            else:
                read_config_entry(reader, ident, key, value, key_line, config)
        return config

