"""Errors the user sees. Each carries one clear sentence: what failed and why."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class: ``str(error)`` is a complete, user-facing sentence."""


def describe_error(error: BaseException) -> str:
    """What a failed job, cell or call says: our own errors' sentence, anything else named as
    unexpected with its type (a bug, not the user's to fix)."""
    if isinstance(error, WorkbenchError):
        return str(error)
    return f"Unexpected error: {type(error).__name__}: {error}"


def sentence(text: str) -> str:
    """``text`` ending in exactly one full stop: for a message that quotes another error,
    whose text may or may not end in one (jinja2's often do)."""
    text = text.rstrip().rstrip(".")
    return text if text.endswith(("?", "!")) else text + "."


class ModelFileError(WorkbenchError):
    """A model file cannot be used: it names the file and the reason."""

    def __init__(self, path: str, reason: str, kind: str = "model"):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Cannot use {kind} file {self.path}: {reason}")


class ModelNotFoundError(WorkbenchError):
    """A model name or path that does not lead to a file."""


class ModelProcessDied(WorkbenchError):
    """The model host process ended while it owned work.

    ``partial_text`` keeps whatever the generation had produced before the end.
    """

    def __init__(self, how: str, log_tail: str = "", partial_text: str = ""):
        self.how = how
        self.log_tail = log_tail
        self.partial_text = partial_text
        message = f"The model process ended unexpectedly ({how})."
        if log_tail.strip():
            message += " Last lines of its log:\n" + log_tail.rstrip()
        super().__init__(message)


class IncompleteAnswer(WorkbenchError):
    """A generation that ended before the model finished its answer: a stream cut off before
    its end marker, a connection lost mid-answer. ``partial_text`` keeps what arrived.

    The backend contract: a stream either ends with a DoneEvent (the model finished: stop,
    length, or the user's cancel) or raises this (or any WorkbenchError). A stream that just
    stops without a DoneEvent is treated the same way: the cell fails, never passes.
    """

    def __init__(self, message: str, partial_text: str = ""):
        self.partial_text = partial_text
        super().__init__(message)


class HostRequestError(WorkbenchError):
    """The model host refused or failed one request; the host itself is still alive.

    ``kind`` is the class name of the error raised inside the host.
    """

    def __init__(self, message: str, kind: str = "", reason: str | None = None):
        self.kind = kind
        self.reason = reason
        super().__init__(message)


class StoreError(WorkbenchError):
    """The session database cannot do what was asked; nothing was changed."""


class CorruptDatabaseError(StoreError):
    pass


class NewerSchemaError(StoreError):
    pass


class ExportFormatError(StoreError):
    pass


class NotFoundError(StoreError):
    pass


class SettingsError(WorkbenchError, ValueError):
    """A setting out of its range or not one of its choices; the message names both."""


class ModelUnloadedError(WorkbenchError):
    """A model was unloaded (or its failed start closed it) while a caller was waiting on it."""
