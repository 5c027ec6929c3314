"""Pulling a model from a local Hub with the real huggingface_hub client: progress, resume,
cancel, checksum, disk space, offline; nothing half-made ever becomes a model."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.fixtures.fake_hub import fake_hub, hf_env  # noqa: F401 - pytest fixtures
from workbench.core.job_state import JobState
from workbench.core.library_errors import (
    ChecksumMismatchError,
    DiskSpaceError,
    DownloadCancelled,
    GatedRepoError,
    HubFileNotFoundError,
    HubNetworkError,
    HubOfflineError,
)
from workbench.services.library import LibraryService
from workbench.services.models import ModelService

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture
def library():
    service = LibraryService()
    yield service
    service.close()


def _hub_models(library):
    return [m for m in library.models(with_metadata=False) if m.source in ("hub", "hf cache")]


def _leftovers(cache):
    return sorted(p.name for p in cache.rglob("*") if p.name.endswith((".partial", ".incomplete")))


def test_pull_downloads_with_progress_verifies_and_adds_to_library(fake_hub, library, hf_env,
                                                                   bundled_model):
    seen = []
    model = library.pull(SMOL, FILE, progress=seen.append)
    assert model.path.is_relative_to(hf_env) and model.path.name == FILE
    assert hashlib.sha256(model.path.read_bytes()).hexdigest() == \
        hashlib.sha256(bundled_model.read_bytes()).hexdigest()
    assert model.source == "hub" and model.repo == SMOL
    assert model.info.architecture == "llama" and model.info.quantization == "Q4_1"
    size = bundled_model.stat().st_size
    assert seen[-1].message == "done" and seen[-1].done == seen[-1].total == size
    downloading = [p for p in seen if p.message.startswith("downloading")]
    assert [p.done for p in downloading] == sorted(p.done for p in downloading)
    # with a speed and the time left once bytes have arrived: "downloading · 9.1 MiB/s · 00:03 left"
    assert any(re.fullmatch(r"downloading · [\d.]+ [KMG]iB/s · \d\d:\d\d left", p.message)
               for p in downloading), [p.message for p in downloading]
    assert any(p.message == "verifying sha256…" for p in seen)
    # The model is known everywhere by its name, through the store.
    assert ModelService().resolve(model.name).name == FILE
    assert _leftovers(hf_env) == []


def test_a_model_already_in_the_cache_is_not_downloaded_again(fake_hub, library):
    library.pull(SMOL, FILE)
    assert len(fake_hub.downloads_of(FILE)) == 1
    again = library.pull(SMOL, FILE)
    assert len(fake_hub.downloads_of(FILE)) == 1  # only metadata was asked for
    assert again.path.is_file()


def test_a_dropped_connection_is_resumed_within_the_same_pull(fake_hub, library):
    fake_hub.drop_after, fake_hub.drops = 20_000_000, 1
    model = library.pull(SMOL, FILE)
    gets = fake_hub.downloads_of(FILE)
    assert len(gets) == 2 and gets[1][2].startswith("bytes=")
    assert model.info.parameter_count == 134_515_008


def test_network_down_mid_download_then_retry_resumes_where_it_stopped(fake_hub, library,
                                                                       hf_env):
    fake_hub.drop_after, fake_hub.drops, fake_hub.down_after_drop = 30_000_000, 1, True
    with pytest.raises(HubNetworkError) as caught:
        library.pull(SMOL, FILE)
    assert "broke off after" in str(caught.value) and "resumes" in str(caught.value)
    assert _leftovers(hf_env) and not _hub_models(library)  # kept, but never a model
    fake_hub.down = False
    model = library.pull(SMOL, FILE)
    resumed = fake_hub.downloads_of(FILE)[-1]
    assert resumed[2].startswith("bytes=") and int(resumed[2][6:].rstrip("-")) >= 20_000_000
    assert model.info.architecture == "llama"
    assert _leftovers(hf_env) == []


def test_cancel_stops_the_download_and_keeps_nothing_as_a_model(fake_hub, library, hf_env):
    token = JobState("download")

    def cancel_soon(progress):
        if progress.done > 0:
            token.cancel()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        library.pull(SMOL, FILE, progress=cancel_soon, cancel=token)
    assert not _hub_models(library)
    assert not list(hf_env.rglob(FILE))
    model = library.pull(SMOL, FILE)  # and a new pull finishes it
    assert model.path.is_file()


def test_a_download_job_cancelled_mid_way_ends_cancelled_and_a_failed_one_failed(
        fake_hub, library, hf_env):
    fake_hub.hold_after = 30_000_000  # the server pauses mid-body until released
    job = library.start_pull(SMOL, FILE)
    assert fake_hub.held.wait(60)
    job.cancel()
    fake_hub.release.set()
    assert job.wait(60)
    assert job.status == "cancelled" and job.outcome is None and job.error is None
    assert not _hub_models(library)
    failing = library.start_pull(SMOL, "missing.gguf")
    assert failing.wait(60)
    assert failing.status == "failed" and "has no GGUF file named missing.gguf" in failing.error
    finished = library.start_pull(SMOL, FILE)
    assert finished.wait(60)
    assert finished.status == "done" and finished.outcome.path.is_file()
    assert finished.progress.done == finished.progress.total > 0


def test_checksum_mismatch_is_refused_and_deleted(fake_hub, library, hf_env):
    fake_hub.corrupt.add(FILE)
    with pytest.raises(ChecksumMismatchError, match="damaged: its sha256 is"):
        library.pull(SMOL, FILE)
    assert not _hub_models(library)
    assert _leftovers(hf_env) == []
    assert not [p for p in hf_env.rglob("blobs/*")]


def test_a_download_that_cannot_fit_is_refused_before_it_starts(fake_hub, library):
    with pytest.raises(DiskSpaceError, match="huge.Q8_0.gguf: it needs 1024.0 TiB more"):
        library.pull("acme/huge-GGUF", "huge.Q8_0.gguf")
    assert fake_hub.downloads_of("huge.Q8_0.gguf") == []


def test_gated_repository_download_without_token_is_refused(fake_hub, library):
    with pytest.raises(GatedRepoError, match="gated"):
        library.pull("meta-llama/Gated-GGUF", "gated.Q4_K_M.gguf")


def test_a_file_the_repository_does_not_have(fake_hub, library):
    with pytest.raises(HubFileNotFoundError, match="has no GGUF file named nope.gguf"):
        library.pull(SMOL, "nope.gguf")


def test_offline_mode_uses_the_cache_and_refuses_what_is_not_there(fake_hub, library,
                                                                   monkeypatch):
    pulled = library.pull(SMOL, FILE)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(fake_hub.requests)
    assert library.pull(SMOL, FILE).path == pulled.path
    assert any(m.path == pulled.path for m in library.models(with_metadata=False))
    with pytest.raises(HubOfflineError, match="not in the Hugging Face cache"):
        library.pull("acme/tiny-llama-GGUF", "tiny-llama.Q4_1.gguf")
    assert len(fake_hub.requests) == before
