"""Errors of the model library and the Hub. Each str() is one sentence: what, and why."""

from __future__ import annotations

from .errors import WorkbenchError


class LibraryError(WorkbenchError):
    """A library operation (add, remove, watch a folder) could not be done."""


class HubError(WorkbenchError):
    """The Hugging Face Hub could not answer a request."""


class HubOfflineError(HubError):
    """Offline mode is on, so the Hub is not asked."""


class RepoNotFoundError(HubError):
    pass


class GatedRepoError(HubError):
    """A gated or private repository and no token (or a token without access)."""


class NoGGUFFilesError(HubError):
    pass


class HubFileNotFoundError(HubError):
    pass


class HubNetworkError(HubError):
    """The connection failed or broke; a download keeps its bytes so a retry resumes."""


class DownloadError(WorkbenchError):
    """A download could not finish; nothing was added as a model."""


class DownloadCancelled(DownloadError):
    pass


class ChecksumMismatchError(DownloadError):
    pass


class DiskSpaceError(DownloadError):
    """Not enough free disk space, found before the download starts or when a write fails."""
