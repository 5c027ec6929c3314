"""What a few-shot vs fine-tune experiment is asked to do: one dataclass for the dialog, the CLI
(a TOML file) and the record kept in the experiment's folder (config.json).

Unknown keys are refused (a typo must not silently run with a default), as in the tune config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ...core.errors import WorkbenchError
from ...tuning.config import PRESETS, TuneSettings, local_path, read_toml

ASSERTIONS = ("equals", "icontains", "starts-with")
ADAPTER_K = ("largest", "each", "none")
TOP_KEYS = {"name", "model", "data", "session", "system", "held_out", "k", "seed", "repeats",
            "assert", "adapters", "adapter_on_all", "shots_plus_adapter", "control",
            "sampling", "training"}
SAMPLING_KEYS = {"max_tokens", "temperature", "stop"}
TRAINING_KEYS = {f.name for f in fields(TuneSettings)} - {"val_fraction", "seed"}


class ExperimentConfigError(WorkbenchError):
    """A config that cannot run; the message names the key and the reason."""


def default_training() -> TuneSettings:
    """The quick preset, shortened: a few dozen steps on short rows (labels are a few tokens).
    Everything is trained on (no validation split: the held-out cases are the test)."""
    return replace(PRESETS["quick"], max_steps=30, batch_size=4, max_length=160,
                   val_fraction=0.0)


@dataclass(frozen=True)
class FewShotConfig:
    model: str | None = None  # a library name or a GGUF file; None: the bundled model
    data: tuple[str, ...] = ()  # files the tune wizard reads (JSONL/JSON/CSV)
    session_id: str | None = None  # or: the session's few-shot examples and rated outputs
    system: str = ""  # the system prompt of every arm (default: the examples' own, if any)
    held_out: int = 15
    ks: tuple[int, ...] = (0, 2, 4, 8)
    seed: int = 0
    repeats: int = 2
    assertion: str = "equals"  # how a held-out answer is checked against the expected one
    adapter_k: str = "largest"  # adapters on k examples: the largest k, each k, or none
    adapter_on_all: bool = True  # an adapter on the whole training part
    shots_plus_adapter: bool = False  # the largest k-shot prompt with the whole-part adapter
    control: bool = True  # adapter at scale 0 against the base, greedy
    max_tokens: int = 8
    temperature: float = 0.7  # repeats differ by seed (seed + repeat), so >0 makes them count
    stop: tuple[str, ...] = ()  # e.g. a newline: a label task's answer is one line
    training: TuneSettings = field(default_factory=default_training)
    name: str = "few-shot vs fine-tune"

    def validate(self) -> FewShotConfig:
        problems = []
        if not self.data and not self.session_id:
            problems.append("give data (one or more example files) or a session")
        if self.held_out < 1:
            problems.append(f"held_out must be at least 1, not {self.held_out}")
        if not self.ks:
            problems.append("k needs at least one value (0 is zero-shot)")
        if any(k < 0 for k in self.ks):
            problems.append("every k must be 0 or more")
        if self.repeats < 1:
            problems.append(f"repeats must be at least 1, not {self.repeats}")
        if self.assertion not in ASSERTIONS:
            problems.append(f"assert must be one of {', '.join(ASSERTIONS)}, "
                            f"not '{self.assertion}'")
        if self.adapter_k not in ADAPTER_K:
            problems.append(f"adapters must be one of {', '.join(ADAPTER_K)}, "
                            f"not '{self.adapter_k}'")
        if self.max_tokens < 1:
            problems.append("sampling.max_tokens must be at least 1")
        if self.temperature < 0:
            problems.append("sampling.temperature must be 0 or more")
        if problems:
            raise ExperimentConfigError("The experiment config has a problem: "
                                        + "; ".join(problems) + ".")
        try:
            self.training.validate()
        except WorkbenchError as error:
            raise ExperimentConfigError(f"The experiment's training settings: {error}") from None
        return self

    @property
    def shot_ks(self) -> tuple[int, ...]:
        """The k values in order, each once."""
        return tuple(sorted(set(self.ks)))

    @property
    def adapter_ks(self) -> tuple[int, ...]:
        """The k values that get an adapter trained on exactly those k examples."""
        positive = [k for k in self.shot_ks if k > 0]
        if self.adapter_k == "none" or not positive:
            return ()
        return tuple(positive) if self.adapter_k == "each" else (positive[-1],)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # JSON writes its tuples as lists (config.json)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FewShotConfig:
        """The config as ``to_dict`` kept it (config.json; other keys are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for key in ("data", "ks", "stop"):
            if key in values:
                values[key] = tuple(values[key])
        training = {key: value for key, value in dict(values.get("training") or {}).items()
                    if key in {f.name for f in fields(TuneSettings)}}
        if "targets" in training:
            training["targets"] = tuple(training["targets"])
        values["training"] = replace(default_training(), **training)
        return cls(**values)


def load_toml(path: str | Path) -> FewShotConfig:
    """Read an experiment config; relative data paths are taken from the file's folder."""
    path = Path(path)
    return from_toml_dict(read_toml(path, ExperimentConfigError), path.parent)


def from_toml_dict(raw: dict[str, Any], folder: Path) -> FewShotConfig:
    unknown = set(raw) - TOP_KEYS
    unknown |= {f"sampling.{k}" for k in set(raw.get("sampling", {})) - SAMPLING_KEYS}
    unknown |= {f"training.{k}" for k in set(raw.get("training", {})) - TRAINING_KEYS}
    if unknown:
        raise ExperimentConfigError("Unknown keys in the experiment config: "
                                    f"{', '.join(sorted(unknown))}.")
    data = raw.get("data", [])
    data = [data] if isinstance(data, str) else list(data)

    model = raw.get("model")
    if model is not None and (folder / str(model)).is_file():
        model = local_path(folder, str(model))
    ks = raw.get("k", [0, 2, 4, 8])
    ks = [ks] if isinstance(ks, int) else list(ks)
    training = dict(raw.get("training", {}))
    if "targets" in training:
        training["targets"] = tuple(training["targets"])
    sampling = raw.get("sampling", {})
    try:
        config = FewShotConfig(
            model=None if model is None else str(model),
            data=tuple(local_path(folder, str(d)) for d in data),
            session_id=raw.get("session"), system=str(raw.get("system", "")),
            held_out=int(raw.get("held_out", 15)), ks=tuple(int(k) for k in ks),
            seed=int(raw.get("seed", 0)), repeats=int(raw.get("repeats", 2)),
            assertion=str(raw.get("assert", "equals")),
            adapter_k=str(raw.get("adapters", "largest")),
            adapter_on_all=bool(raw.get("adapter_on_all", True)),
            shots_plus_adapter=bool(raw.get("shots_plus_adapter", False)),
            control=bool(raw.get("control", True)),
            max_tokens=int(sampling.get("max_tokens", 8)),
            temperature=float(sampling.get("temperature", 0.7)),
            stop=_stops(sampling.get("stop", ())),
            training=replace(default_training(), **training),
            name=str(raw.get("name", "few-shot vs fine-tune")))
    except (TypeError, ValueError) as error:
        raise ExperimentConfigError(f"Invalid value in the experiment config: {error}.") from None
    return config.validate()


def _stops(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)
