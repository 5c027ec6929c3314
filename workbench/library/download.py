"""Download a GGUF model from the Hub into the Hugging Face cache: resumable, verified, cancellable.

huggingface_hub 2.x downloads into a per-call temporary file that it deletes on failure, so a
cancelled or broken multi-GB download would start again from zero, and it does not check the
sha256 the Hub publishes for LFS files. So the bytes are fetched here with huggingface_hub's own
pieces (``get_hf_file_metadata`` for the ETag/commit/size, ``http_get`` with ``resume_size``)
into ``blobs/<etag>.partial`` inside the cache, checked against the Hub's sha256, and only then
renamed to ``blobs/<etag>``; ``hf_hub_download`` then links it into ``snapshots/`` as it does for
any cached blob. A ``.partial`` file is never listed as a model (only ``*.gguf`` is), and a file
that fails its checksum is deleted before it reaches the cache.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..core.job_state import JobProgress, JobState
from ..core.library_errors import (
    ChecksumMismatchError,
    DiskSpaceError,
    DownloadCancelled,
    HubError,
    HubNetworkError,
    HubOfflineError,
)
from ..core.model_info import human_bytes
from .hashing import file_sha256
from .hf_env import hub_cache_dir, hub_endpoint, hub_token, is_offline
from .hub import LIBRARY_NAME, HubModelFile, hub_errors, translate_hub_error

HASH_CHUNK = 8 * 1024 * 1024
_SHA256_HEX = set("0123456789abcdef")


# Progress is the job's own shape: bytes of the whole model (all parts) done and in all, and a
# message that starts with the phase: "downloading · 1.2 MiB/s · 00:03 left",
# "verifying sha256…", "done".
ProgressCallback = Callable[[JobProgress], None]


@dataclass
class _Part:
    name: str
    size: int
    etag: str
    url: str
    sha256: str | None
    blob: Path
    cached: Path | None = None  # a usable snapshot file already in the cache

    @property
    def partial(self) -> Path:
        return self.blob.with_name(self.blob.name + ".partial")


class _Meter:
    """Bytes received -> JobProgress with a speed over a sliding window, throttled to ~10/s."""

    def __init__(self, model: HubModelFile, total: int, callback: ProgressCallback | None,
                 cancel: JobState | None):
        self.model, self.total, self.callback, self.cancel = model, total, callback, cancel
        self.done = 0
        self._samples: list[tuple[float, int]] = [(time.monotonic(), 0)]
        self._last_emit = 0.0
        self._phase = "downloading"

    def add(self, n: int, phase: str = "downloading", force: bool = False) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise DownloadCancelled(
                f"The download of {self.model.filename} was cancelled; the bytes received so far "
                "are kept, so pulling it again resumes where it stopped.")
        self.done += n
        now = time.monotonic()
        if phase == "downloading":
            self._samples.append((now, self.done))
            while len(self._samples) > 2 and now - self._samples[0][0] > 3.0:
                self._samples.pop(0)
        # A new phase is always told (a fast machine verifies within one throttle interval,
        # and "verifying sha256…" was never shown); within a phase, about ten a second.
        force = force or phase != self._phase
        if self.callback is not None and (force or now - self._last_emit >= 0.1):
            self._last_emit, self._phase = now, phase
            self.callback(self._progress(phase))

    def _progress(self, phase: str) -> JobProgress:
        return JobProgress(min(self.done, self.total), self.total, self._message(phase))

    def _message(self, phase: str) -> str:
        if phase == "verifying":
            return "verifying sha256…"
        if phase != "downloading":
            return phase
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        speed = (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
        if speed <= 0:
            return phase
        left = clock((self.total - self.done) / speed)
        return f"{phase} · {human_bytes(int(speed))}/s · {left} left"


def clock(seconds: float) -> str:
    """``MM:SS``, or ``HH:MM:SS`` from an hour on."""
    seconds = int(max(0, seconds))
    return time.strftime("%H:%M:%S" if seconds >= 3600 else "%M:%S", time.gmtime(seconds))


class _Bar:
    """The tqdm-like object huggingface_hub's http_get reports to (any callable class works)."""

    def __init__(self, meter: _Meter, **_kwargs):
        self.meter = meter

    def update(self, n: int = 1) -> None:
        self.meter.add(n)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        return False


def pull_model(
    repo: str,
    model: HubModelFile,
    *,
    revision: str | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: JobState | None = None,
) -> Path:
    """Download every part of ``model`` (or reuse the cache); return the first part's path."""
    endpoint = (endpoint or hub_endpoint()).rstrip("/")
    token = token if token is not None else hub_token()
    cache = Path(cache_dir or hub_cache_dir()).expanduser()
    revision = revision or "main"
    if is_offline():
        return _from_cache_only(repo, model, cache, revision)
    parts = [_describe_part(repo, name, model.sha256.get(name), revision, endpoint, token, cache)
             for name in model.parts]
    meter = _Meter(model, sum(p.size for p in parts), progress, cancel)
    _check_disk_space(model, parts, cache)
    paths = []
    for part in parts:
        if part.cached is not None:
            meter.add(part.size, "done", force=True)
            paths.append(part.cached)
            continue
        _fetch(repo, part, meter, token, endpoint)
        paths.append(_link(repo, part, revision, endpoint, token, cache))
    meter.add(0, "done", force=True)
    return paths[0]


def _describe_part(repo: str, name: str, sha256: str | None, revision: str, endpoint: str,
                   token, cache: Path) -> _Part:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url, try_to_load_from_cache
    from huggingface_hub.file_download import repo_folder_name

    with hub_errors(repo=repo, filename=name, what=f"download {repo}/{name}"):
        meta = get_hf_file_metadata(hf_hub_url(repo, name, revision=revision, endpoint=endpoint),
                                    token=token, endpoint=endpoint)
    etag = meta.etag or ""
    if sha256 is None and len(etag) == 64 and set(etag) <= _SHA256_HEX:
        sha256 = etag  # an LFS file's ETag is its sha256
    storage = cache / repo_folder_name(repo_id=repo, repo_type="model")
    part = _Part(name, int(meta.size or 0), etag, meta.location, sha256, storage / "blobs" / etag)
    cached = try_to_load_from_cache(repo, name, cache_dir=cache, revision=meta.commit_hash)
    if isinstance(cached, str) and _verified(Path(cached), sha256):
        part.cached = Path(cached)  # already in the cache: reused, not downloaded again
    return part


def _verified(path: Path, sha256: str | None) -> bool:
    """A cached file counts only if it still matches the Hub's checksum (hashes are cached)."""
    try:
        return sha256 is None or file_sha256(path) == sha256
    except OSError:
        return False


def _check_disk_space(model: HubModelFile, parts: list[_Part], cache: Path) -> None:
    """Refuse before the first byte when what is still missing cannot fit."""
    needed = sum(max(0, p.size - _size(p.partial)) for p in parts
                 if p.cached is None and not p.blob.exists())
    if not needed:
        return
    folder = cache
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DiskSpaceError(
            f"Cannot download {model.filename}: it needs {human_bytes(needed)} more and only "
            f"{human_bytes(free)} is free on the disk holding {cache}. Free some space or set "
            "HF_HUB_CACHE to a bigger disk.")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _fetch(repo: str, part: _Part, meter: _Meter, token, endpoint: str) -> None:
    """Fetch into ``<blob>.partial`` (resuming), verify, then move it to the blob path."""
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import WeakFileLock, build_hf_headers

    if part.blob.exists():
        if _verified(part.blob, part.sha256):  # put there earlier, e.g. by another tool
            meter.add(part.size, "verifying", force=True)
            return
        part.blob.unlink()  # a damaged blob must not be linked as this file
    part.blob.parent.mkdir(parents=True, exist_ok=True)
    headers = build_hf_headers(token=token, library_name=LIBRARY_NAME)
    if urlsplit(part.url).hostname != urlsplit(endpoint).hostname:
        headers.pop("authorization", None)  # never send the token to a CDN
    # Our own lock name: huggingface_hub takes `<etag>.lock` itself inside hf_hub_download.
    lock = part.blob.parent.parent.parent / ".locks" / part.blob.parent.parent.name
    lock.mkdir(parents=True, exist_ok=True)
    with WeakFileLock(lock / f"{part.etag}.workbench.lock"):
        have = _size(part.partial)
        if part.size and have > part.size:
            part.partial.unlink()  # longer than the file: not a prefix of it
            have = 0
        meter.add(have, "downloading", force=True)
        try:
            with open(part.partial, "ab") as handle:
                http_get(part.url, handle, resume_size=have, headers=headers,
                         expected_size=part.size or None, displayed_filename=part.name,
                         tqdm_class=functools.partial(_Bar, meter))
        except DownloadCancelled:
            raise
        except Exception as error:
            if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                raise DiskSpaceError(
                    f"The disk filled up while downloading {part.name} "
                    f"({human_bytes(_size(part.partial))} of {human_bytes(part.size)} written "
                    "and kept): free some space and pull again to resume.") from None
            raise _interrupted(repo, part, error) from error
        # The last chunk may land inside the ~0.1 s throttle: always report the finished
        # download once, with its speed, before hashing starts.
        meter.add(0, "downloading", force=True)
        _verify(part, meter)
        os.replace(part.partial, part.blob)


def _interrupted(repo: str, part: _Part, error: BaseException) -> Exception:
    """A download that broke off: say how far it got and that a retry resumes."""
    translated = translate_hub_error(error, repo, part.name, f"download {repo}/{part.name}")
    if translated is not None and not type(translated) in (HubNetworkError, HubError):
        return translated  # gated, not found …: retrying will not help
    reason = str(translated) if translated is not None else f"{type(error).__name__}: {error}"
    return HubNetworkError(
        f"The download of {part.name} broke off after {human_bytes(_size(part.partial))} of "
        f"{human_bytes(part.size)}; the bytes received are kept, so pulling it again resumes. "
        f"({reason.splitlines()[0]})")


def _verify(part: _Part, meter: _Meter) -> None:
    if part.sha256 is None:
        return
    digest = hashlib.sha256()
    with open(part.partial, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            meter.add(0, "verifying")  # checks for a cancel while hashing a big file
    actual = digest.hexdigest()
    if actual != part.sha256:
        part.partial.unlink(missing_ok=True)
        raise ChecksumMismatchError(
            f"The download of {part.name} is damaged: its sha256 is {actual[:12]}…, the Hub "
            f"says {part.sha256[:12]}…. The file was deleted and not added; pull it again.")


def _link(repo: str, part: _Part, revision: str, endpoint: str, token, cache: Path) -> Path:
    """Let huggingface_hub put the verified blob into its snapshot layout (no new download)."""
    from huggingface_hub import hf_hub_download

    with hub_errors(repo=repo, filename=part.name, what=f"download {repo}/{part.name}"):
        path = Path(hf_hub_download(repo, part.name, revision=revision, cache_dir=cache,
                                    endpoint=endpoint, token=token))
    if path.resolve() != part.blob.resolve() and not _verified(path, part.sha256):
        # The repository changed between the listing and the link: never keep unchecked bytes.
        raise ChecksumMismatchError(
            f"{repo}/{part.name} changed on the Hub during the download and the new version "
            "does not match the checksum that was listed; list the files again and pull.")
    return path


def _from_cache_only(repo: str, model: HubModelFile, cache: Path, revision: str) -> Path:
    from huggingface_hub import try_to_load_from_cache

    paths = []
    for name in model.parts:
        found = try_to_load_from_cache(repo, name, cache_dir=cache, revision=revision)
        if not isinstance(found, str):
            raise HubOfflineError(f"Cannot download {repo}/{name}: offline mode is on "
                                  "(HF_HUB_OFFLINE) and the file is not in the Hugging Face cache.")
        paths.append(Path(found))
    return paths[0]
