"""Sampling settings: how the next token is chosen.

The defaults are llama.cpp's own (common/common.h), so a fresh variant answers as
``llama-cli``/``llama-server`` would; in particular the repeat penalty is off (1.0), which
makes ``temperature 0`` the model's true greedy answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64  # how many recent tokens the penalties look at
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    max_tokens: int = 256
    stop: tuple[str, ...] = field(default_factory=tuple)
    seed: int | None = None
    logprobs: int = 0  # how many top alternatives to report per token (0: none)
    grammar: str | None = None  # GBNF the output must follow (llama.cpp's grammar sampler)
    ignore_eos: bool = False  # never end early: always max_tokens (for benchmarks, as llama.cpp)
    # What a server is sent (a remote backend): the names of the settings a suite, a variant's
    # row or a command line gave, so that the server's own defaults apply to the others
    # (llama_cpp.server's repeat penalty is 1.1, llama.cpp's 1.0). None: every setting, as a
    # run stored before this was kept sent them. A local llama.cpp model uses every field.
    sent: tuple[str, ...] | None = None
    # Request keys a server is sent as written (a suite's response_format, tools, …): a JSON
    # object's text ("" for none), so the settings stay hashable; ``extra_body`` reads it.
    extra: str = ""

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    @property
    def extra_body(self) -> dict[str, Any]:
        return json.loads(self.extra) if self.extra else {}

    def with_(self, **changes: Any) -> SamplingSettings:
        return replace(self, **changes)

    def with_sent(self, **changes: Any) -> SamplingSettings:
        """``with_``, the changed settings counted as given (sent to a server), unless every
        setting already is (``sent`` None)."""
        settings = replace(self, **changes)
        if self.sent is None:
            return settings
        return replace(settings, sent=tuple(dict.fromkeys([*self.sent, *changes])))

    @classmethod
    def given(cls, values: dict[str, Any], extra: dict[str, Any] | None = None
              ) -> SamplingSettings:
        """The settings ``values`` gives (SamplingSettings' names), these and only these sent
        to a server, with ``extra`` request keys; the others keep llama.cpp's defaults."""
        settings = cls.from_dict(values)
        return replace(settings, sent=tuple(k for k in values if k in FIELD_NAMES),
                       extra=json.dumps(extra, ensure_ascii=False) if extra else "")

    def to_dict(self) -> dict[str, Any]:
        """Every setting; ``sent`` and ``extra`` only when they say something (so a local
        run's record is as it always was)."""
        data = asdict(self)
        data["stop"] = list(self.stop)
        if self.sent is None:
            del data["sent"]
        else:
            data["sent"] = list(self.sent)
        if self.extra:
            data["extra"] = self.extra_body
        else:
            del data["extra"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingSettings:
        values = {k: v for k, v in data.items() if k in FIELD_NAMES}
        if "stop" in values:
            values["stop"] = tuple(values["stop"] or ())
        if values.get("sent") is not None:
            values["sent"] = tuple(values["sent"])
        if "extra" in values:
            extra = values["extra"]
            values["extra"] = (json.dumps(extra, ensure_ascii=False) if isinstance(extra, dict)
                               and extra else extra if isinstance(extra, str) else "")
        return cls(**values)

    def non_defaults(self) -> dict[str, Any]:
        """Settings that differ from llama.cpp's defaults (what a variant's row shows).

        Greedy decoding ignores top-k/p and min-p, so those are not listed for it.
        """
        ignored = {"max_tokens", "stop", "logprobs", "sent", "extra"}
        if self.greedy:
            ignored |= {"top_k", "top_p", "min_p"}
        default = DEFAULTS.to_dict()
        return {key: value for key, value in self.to_dict().items()
                if key not in ignored and value != default[key]}


FIELD_NAMES = frozenset(f.name for f in fields(SamplingSettings))
DEFAULTS = SamplingSettings()
GREEDY = SamplingSettings(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)


def describe_sampling(settings: SamplingSettings) -> str:
    """One short line, e.g. ``greedy`` or ``temp 0.7 · repeat 1.1 · seed 7``."""
    changed = settings.non_defaults()
    parts = ["greedy"] if settings.greedy else []
    names = {"temperature": "temp", "top_p": "top-p", "top_k": "top-k", "min_p": "min-p",
             "repeat_penalty": "repeat", "repeat_last_n": "last-n",
             "frequency_penalty": "freq", "presence_penalty": "presence", "seed": "seed"}
    for key, value in changed.items():
        if key == "temperature" and settings.greedy:
            continue
        if key == "grammar":
            parts.append("grammar")
        elif key == "ignore_eos":
            parts.append("ignore EOS")
        elif key in names:
            parts.append(f"{names[key]} {value:g}" if isinstance(value, float) else
                         f"{names[key]} {value}")
    return " · ".join(parts) or "llama.cpp defaults"
