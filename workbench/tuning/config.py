"""What a tune job is asked to do: base model, data, LoRA and training settings, export.

One dataclass for the GUI, the CLI (a TOML file) and the trainer process (JSON). Presets fill
every setting; a TOML file names a preset and overrides single settings, and unknown keys are
refused so a typo never silently trains with a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..core.tuning_errors import TuneConfigError
from .architectures import ALL_LINEAR, ATTENTION, check_targets


@dataclass(frozen=True)
class TuneSettings:
    """LoRA shape and optimisation; ``max_steps`` (when set) wins over ``epochs``."""

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    targets: tuple[str, ...] = ATTENTION
    learning_rate: float = 1e-3
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 512
    seed: int = 0
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    val_fraction: float = 0.1
    eval_every: int = 0  # steps; 0 = about ten times per job
    checkpoint_every: int = 0  # steps; 0 = about five times per job
    device: str = "auto"  # "auto", "cpu", "cuda", "mps"
    threads: int | None = None  # CPU threads for torch; None = all cores

    def validate(self) -> TuneSettings:
        problems = []
        if self.rank < 1:
            problems.append("rank must be at least 1")
        if self.alpha <= 0:
            problems.append("alpha must be positive")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if self.learning_rate <= 0:
            problems.append("learning_rate must be positive")
        if self.max_steps is None and self.epochs <= 0:
            problems.append("epochs must be positive (or set max_steps)")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append("max_steps must be at least 1")
        if self.batch_size < 1 or self.grad_accum < 1:
            problems.append("batch_size and grad_accum must be at least 1")
        if self.max_length < 8:
            problems.append("max_length must be at least 8 tokens")
        if not 0.0 <= self.val_fraction < 0.9:
            problems.append("val_fraction must be in [0, 0.9)")
        if self.device not in ("auto", "cpu", "cuda", "mps"):
            problems.append("device must be auto, cpu, cuda or mps")
        if problems:
            raise TuneConfigError("Invalid tune settings: " + "; ".join(problems) + ".")
        check_targets(self.targets)
        return self


PRESETS: dict[str, TuneSettings] = {
    # Attention only, a high learning rate and one pass: minutes on a laptop CPU.
    "quick": TuneSettings(rank=8, alpha=16, dropout=0.0, targets=ATTENTION,
                          learning_rate=1e-3, epochs=1, batch_size=4, grad_accum=1,
                          max_length=512),
    "balanced": TuneSettings(rank=16, alpha=32, dropout=0.05, targets=ALL_LINEAR,
                             learning_rate=2e-4, epochs=3, batch_size=4, grad_accum=4,
                             max_length=1024),
    "thorough": TuneSettings(rank=32, alpha=64, dropout=0.05, targets=ALL_LINEAR,
                             learning_rate=1e-4, epochs=5, batch_size=4, grad_accum=8,
                             max_length=2048),
}


PLACES = ("local", "ray")


@dataclass(frozen=True)
class TuneWhere:
    """Where the job trains: this machine (a trainer process) or a Ray cluster (Ray Train,
    data-parallel over ``workers``). The rest of the job is the same either way."""

    place: str = "local"  # "local" or "ray"
    address: str = ""  # ray://HOST:10001, HOST:6379 or Ray Jobs' http://HOST:8265; "" or
    # "local": a Ray started here
    workers: int = 2
    cpus_per_worker: int = 1
    gpus_per_worker: float = 0.0
    storage: str = ""  # checkpoints: a folder the cluster shares or an object store URL

    @property
    def on_ray(self) -> bool:
        return self.place == "ray"

    def validate(self) -> TuneWhere:
        problems = []
        if self.place not in PLACES:
            problems.append("where.place must be local or ray")
        if self.workers < 1 or self.cpus_per_worker < 1:
            problems.append("where.workers and where.cpus_per_worker must be at least 1")
        if self.gpus_per_worker < 0:
            problems.append("where.gpus_per_worker cannot be negative")
        if self.on_ray and self.address.startswith(("http://", "https://")) and not self.storage:
            # The driver runs on the cluster: the adapter comes home through the storage.
            problems.append("where.storage is needed with a Ray Jobs address (a folder the "
                            "cluster and this machine share, or an object store URL)")
        if problems:
            raise TuneConfigError("Invalid tune settings: " + "; ".join(problems) + ".")
        return self


@dataclass(frozen=True)
class TuneConfig:
    base_model: str  # a library name, a .gguf file or a Hugging Face folder (safetensors)
    data: tuple[str, ...] = ()  # JSONL / JSON / CSV files
    validation: str | None = None  # a separate validation file; else a split of ``data``
    name: str = ""  # the adapter's name in the library
    preset: str = "quick"
    settings: TuneSettings = field(default_factory=TuneSettings)
    merge: bool = False  # also write a full GGUF with the adapter merged (GGUF bases only)
    session_id: str | None = None
    where: TuneWhere = field(default_factory=TuneWhere)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["data"] = list(self.data)
        data["settings"]["targets"] = list(self.settings.targets)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TuneConfig:
        values = dict(data)
        settings = dict(values.pop("settings", {}) or {})
        settings["targets"] = tuple(settings.get("targets") or ATTENTION)
        values["data"] = tuple(values.get("data") or ())
        values["where"] = TuneWhere(**(values.get("where") or {}))
        return cls(settings=TuneSettings(**settings), **values)


def preset(name: str) -> TuneSettings:
    try:
        return PRESETS[name]
    except KeyError:
        raise TuneConfigError(f"Unknown preset '{name}'; choose from "
                              f"{', '.join(PRESETS)}.") from None


TOP_KEYS = {"base_model", "data", "validation", "name", "preset", "merge", "lora", "training",
            "where"}
WHERE_KEYS = {f.name for f in fields(TuneWhere)}
LORA_KEYS = {"rank", "alpha", "dropout", "targets"}
TRAINING_KEYS = {f.name for f in fields(TuneSettings)} - LORA_KEYS


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """A TOML file's table; an unreadable or invalid file raises ``error`` naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as problem:
        raise error(f"Cannot read {path}: {problem.strerror or problem}.") from None
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{path} is not valid TOML: {problem}.") from None


def local_path(folder: Path, value: str) -> str:
    """A path in a config file, taken from the file's folder when it names a file there (else
    as written: a library name, an absolute path, a shipped example)."""
    candidate = folder / Path(value).expanduser()
    return str(candidate.resolve()) if candidate.exists() else value


def load_toml(path: str | Path) -> TuneConfig:
    """Read a tune config; relative data paths are taken from the file's folder."""
    path = Path(path)
    return from_toml_dict(read_toml(path, TuneConfigError), path.parent)


def from_toml_dict(raw: dict[str, Any], folder: Path) -> TuneConfig:
    unknown = (set(raw) - TOP_KEYS) | {f"lora.{k}" for k in set(raw.get("lora", {})) - LORA_KEYS}
    unknown |= {f"training.{k}" for k in set(raw.get("training", {})) - TRAINING_KEYS}
    unknown |= {f"where.{k}" for k in set(raw.get("where", {})) - WHERE_KEYS}
    if unknown:
        raise TuneConfigError(f"Unknown keys in the tune config: {', '.join(sorted(unknown))}.")
    if "base_model" not in raw:
        raise TuneConfigError("The tune config needs base_model (a library name or a path).")
    data = raw.get("data", [])
    data = [data] if isinstance(data, str) else list(data)
    if not data:
        raise TuneConfigError("The tune config needs data: one or more JSONL, JSON or CSV files.")

    overrides = {**raw.get("lora", {}), **raw.get("training", {})}
    if "targets" in overrides:
        overrides["targets"] = tuple(overrides["targets"])
    base = preset(raw.get("preset", "quick"))
    try:
        settings = replace(base, **overrides).validate()
    except TypeError as error:
        raise TuneConfigError(f"Invalid tune settings: {error}.") from None
    return TuneConfig(
        base_model=local_path(folder, str(raw["base_model"])),
        data=tuple(local_path(folder, str(d)) for d in data),
        validation=local_path(folder, str(raw["validation"])) if raw.get("validation") else None,
        name=str(raw.get("name", "")),
        preset=raw.get("preset", "quick"),
        settings=settings,
        merge=bool(raw.get("merge", False)),
        where=_where(raw.get("where", {})),
    )


def _where(raw: dict[str, Any]) -> TuneWhere:
    """The [where] table; a table with an address but no place means a Ray cluster."""
    values = dict(raw)
    if "address" in values and "place" not in values:
        values["place"] = "ray"
    try:
        return TuneWhere(**values).validate()
    except TypeError as error:
        raise TuneConfigError(f"Invalid tune settings: {error}.") from None
