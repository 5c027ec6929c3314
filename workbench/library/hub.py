"""The Hugging Face Hub through ``huggingface_hub.HfApi``: search GGUF repositories, list files.

Every call takes the endpoint, token and offline flag at call time (see hf_env), and every
failure becomes a one-sentence WorkbenchError naming the repository and the reason.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from ..core.errors import WorkbenchError
from ..core.library_errors import (
    GatedRepoError,
    HubError,
    HubFileNotFoundError,
    HubNetworkError,
    HubOfflineError,
    NoGGUFFilesError,
    RepoNotFoundError,
)
from .hf_env import hub_endpoint, hub_token, is_offline
from .reachability import OFFLINE, unreachable_reason
from .splits import split_name

LIBRARY_NAME = "prompt-workbench"
# A quantization label in a file name: Q4_K_M, IQ2_XXS, Q8_0, BF16, UD-Q4_K_XL, MXFP4 …
_QUANT = re.compile(r"(?<![A-Za-z0-9])((?:UD-)?(?:I?Q\d(?:_[0-9A-Z]{1,3})*|TQ\d_\d|BF16|FP16|F16"
                    r"|F32|MXFP4(?:_MOE)?))(?![A-Za-z0-9])", re.IGNORECASE)


@dataclass(frozen=True)
class HubRepo:
    id: str
    downloads: int = 0
    likes: int = 0
    last_modified: datetime | None = None
    gated: bool = False


@dataclass(frozen=True)
class HubModelFile:
    """One model in a repository: a single .gguf, or all parts of a split one."""

    filename: str  # the (first) file: what llama.cpp is given
    parts: tuple[str, ...]
    size: int
    sha256: dict[str, str] = field(default_factory=dict)  # part -> sha256, from the Hub's LFS data
    quantization: str = "other"


@dataclass(frozen=True)
class RepoFiles:
    repo: str
    revision: str  # the commit the listing is of
    gated: bool
    files: tuple[HubModelFile, ...]

    def by_quantization(self) -> OrderedDict[str, list[HubModelFile]]:
        groups: OrderedDict[str, list[HubModelFile]] = OrderedDict()
        for file in sorted(self.files, key=lambda f: (f.size, f.filename)):
            groups.setdefault(file.quantization, []).append(file)
        return groups

    def find(self, filename: str) -> HubModelFile:
        for file in self.files:
            if filename == file.filename or filename in file.parts:
                return file
        names = ", ".join(f.filename for f in self.files)
        raise HubFileNotFoundError(f"The repository {self.repo} has no GGUF file named "
                                   f"{filename}; it has: {names}.")


def quantization_of(filename: str) -> str:
    split = split_name(filename)
    stem = split.stem if split else filename.rsplit("/", 1)[-1].removesuffix(".gguf")
    matches = _QUANT.findall(stem)
    return matches[-1].upper() if matches else "other"


class Hub:
    """HfApi with the workbench's endpoint, token and error messages."""

    def __init__(self, endpoint: str | None = None, token: str | bool | None = None):
        self._endpoint = endpoint
        self._token = token

    @property
    def endpoint(self) -> str:
        return (self._endpoint or hub_endpoint()).rstrip("/")

    @property
    def token(self) -> str | bool:
        return self._token if self._token is not None else hub_token()

    def api(self):
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=self.token, library_name=LIBRARY_NAME)

    def check_reachable(self) -> None:
        """Fail in seconds when the Hub cannot be reached: huggingface_hub retries a failed
        connection five times with back-off, ~23 s before the user hears anything."""
        reason = unreachable_reason(self.endpoint)
        if reason:
            raise HubNetworkError(f"{OFFLINE}: {reason}. Models already on this machine are "
                                  "in the library.")

    def search(self, text: str, limit: int = 30) -> list[HubRepo]:
        if is_offline():
            raise HubOfflineError("Searching the Hub is unavailable: offline mode is on "
                                  "(HF_HUB_OFFLINE); models already downloaded are listed in "
                                  "the library.")
        self.check_reachable()
        with hub_errors(what="search the Hub"):
            found = self.api().list_models(
                search=text.strip() or None, filter="gguf", sort="downloads", limit=limit,
                expand=["downloads", "likes", "lastModified", "gated"],
            )
            return [HubRepo(m.id, int(m.downloads or 0), int(m.likes or 0), m.last_modified,
                            bool(m.gated)) for m in found]

    def files(self, repo: str, revision: str | None = None) -> RepoFiles:
        """The repository's GGUF models (split parts joined), with sizes and sha256."""
        if is_offline():
            raise HubOfflineError(f"Cannot list the files of {repo}: offline mode is on "
                                  "(HF_HUB_OFFLINE).")
        self.check_reachable()
        with hub_errors(repo=repo):
            info = self.api().model_info(repo, revision=revision, files_metadata=True)
        models = group_files([(s.rfilename, _size(s), s.lfs.sha256 if s.lfs else None)
                              for s in info.siblings or []])
        if not models:
            raise NoGGUFFilesError(f"The repository {repo} has no GGUF files (llama.cpp needs "
                                   "a .gguf file; look for a repository with GGUF in its name).")
        return RepoFiles(repo, info.sha or revision or "main", bool(info.gated), tuple(models))


def _size(sibling) -> int:
    if sibling.lfs is not None:
        return int(sibling.lfs.size)
    return int(sibling.size or 0)


def group_files(entries: list[tuple[str, int, str | None]]) -> list[HubModelFile]:
    """(name, size, sha256) of repository files -> GGUF models, split parts joined."""
    singles: list[HubModelFile] = []
    splits: dict[tuple[str, int], dict[int, tuple[str, int, str | None]]] = {}
    for name, size, sha in entries:
        if not name.lower().endswith(".gguf"):
            continue
        split = split_name(name)
        if split is None:
            singles.append(HubModelFile(name, (name,), size, {name: sha} if sha else {},
                                        quantization_of(name)))
            continue
        prefix = name[: len(name) - len(name.rsplit("/", 1)[-1])]
        splits.setdefault((prefix + split.stem, split.count), {})[split.part] = (name, size, sha)
    for (_stem, count), parts in splits.items():
        if sorted(parts) != list(range(1, count + 1)):
            continue  # an incomplete set of parts cannot be loaded
        ordered = [parts[n] for n in range(1, count + 1)]
        singles.append(HubModelFile(
            ordered[0][0], tuple(p[0] for p in ordered), sum(p[1] for p in ordered),
            {p[0]: p[2] for p in ordered if p[2]}, quantization_of(ordered[0][0])))
    return sorted(singles, key=lambda f: f.filename)


class hub_errors:
    """Context manager: huggingface_hub / network exceptions -> one-sentence HubErrors."""

    def __init__(self, repo: str | None = None, filename: str | None = None,
                 what: str | None = None):
        self.repo, self.filename = repo, filename
        self.what = what or (f"reach {repo}" if repo else "reach the Hub")

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _tb):
        if error is None or isinstance(error, WorkbenchError):
            return False
        translated = translate_hub_error(error, self.repo, self.filename, self.what)
        if translated is None:
            return False
        raise translated from error


def translate_hub_error(error: BaseException, repo: str | None, filename: str | None,
                        what: str) -> WorkbenchError | None:
    from huggingface_hub import errors as hf

    try:
        import httpx2
        network: tuple[type[BaseException], ...] = (httpx2.TransportError,)
    except ImportError:  # an older huggingface_hub on httpx / requests
        network = ()
    name = f"{repo}/{filename}" if repo and filename else (repo or filename or "the Hub")
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, hf.OfflineModeIsEnabled):
        return HubOfflineError(f"Cannot {what}: offline mode is on (HF_HUB_OFFLINE).")
    if isinstance(error, hf.GatedRepoError) or status == 403:
        return GatedRepoError(
            f"The repository {repo} is gated or private and the Hub refused access "
            f"({status or 401}): accept its terms on the Hub, then log in with "
            "`hf auth login` (or set HF_TOKEN) using an account that has access.")
    if isinstance(error, hf.RepositoryNotFoundError):
        return RepoNotFoundError(
            f"The repository {repo} does not exist on the Hub (or it is private and "
            "needs a login).")
    if isinstance(error, hf.RevisionNotFoundError):
        return RepoNotFoundError(f"The repository {repo} has no such revision.")
    if isinstance(error, (hf.RemoteEntryNotFoundError, hf.EntryNotFoundError)):
        return HubFileNotFoundError(f"The repository {repo} has no file {filename}.")
    if isinstance(error, hf.LocalEntryNotFoundError):
        return HubNetworkError(f"Cannot download {name}: the Hub cannot be reached and the "
                               "file is not in the Hugging Face cache.")
    if network and isinstance(error, network):
        return HubNetworkError(f"{OFFLINE}: cannot {what} (the connection failed: "
                               f"{_plain_reason(error)}).")
    if isinstance(error, hf.HfHubHTTPError):
        return HubError(f"Cannot {what}: the Hub answered HTTP {status} "
                        f"({str(error).strip().splitlines()[0]}).")
    if isinstance(error, hf.HFValidationError):
        return RepoNotFoundError(f"'{repo}' is not a valid repository id (it looks like "
                                 "owner/name).")
    return None


def _plain_reason(error: BaseException) -> str:
    text = str(error)
    if "Errno -2" in text or "Errno -3" in text or "Name or service" in text:
        return "the Hub's address could not be looked up"
    if "refused" in text.lower():
        return "the connection was refused"
    if "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        return "it timed out"
    return text or type(error).__name__
