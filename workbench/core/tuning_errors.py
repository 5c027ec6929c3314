"""Errors of LoRA tuning the user sees: each is one clear sentence."""

from __future__ import annotations

from .errors import WorkbenchError


class TuningError(WorkbenchError):
    """Base class of tuning errors."""


class TuneConfigError(TuningError):
    """A tune configuration (a TOML file or the wizard's settings) is not usable."""


class DatasetError(TuningError):
    """The training data cannot be used as a whole (empty, unreadable, no valid rows)."""


class UnsupportedBaseError(TuningError):
    """The base model is one the trainer or the exporter cannot handle."""


class TrainerFailed(TuningError):
    """The trainer process failed; earlier checkpoints are kept."""


class TrainerOutOfMemory(TrainerFailed):
    """The trainer ran out of memory."""


class ExportError(TuningError):
    """The adapter could not be written as a file llama.cpp loads."""
