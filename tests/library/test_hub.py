"""Hub search and file listing through the real huggingface_hub client against a local Hub."""

from __future__ import annotations

import pytest

from tests.fixtures.fake_hub import fake_hub, hf_env  # noqa: F401 - pytest fixtures
from workbench.core.library_errors import (
    GatedRepoError,
    HubNetworkError,
    HubOfflineError,
    NoGGUFFilesError,
    RepoNotFoundError,
)
from workbench.library.hub import Hub, group_files, quantization_of

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"


def test_search_lists_gguf_repositories_with_downloads_likes_and_date(fake_hub):
    found = Hub().search("smol")
    assert [r.id for r in found] == [SMOL]
    repo = found[0]
    assert (repo.downloads, repo.likes) == (5000, 42)
    assert repo.last_modified is not None and repo.last_modified.year == 2024
    method, path, _ = fake_hub.requests[-1]
    assert (method, path) == ("GET", "/api/models")


def test_search_leaves_out_repositories_without_gguf_and_sorts_by_downloads(fake_hub):
    ids = [r.id for r in Hub().search("")]
    assert "acme/no-gguf-here" not in ids
    assert ids[0] == SMOL  # most downloads first


def test_files_are_grouped_by_quantization_and_split_parts_are_one_model(fake_hub, bundled_model):
    files = Hub().files(SMOL)
    groups = files.by_quantization()
    assert set(groups) == {"Q4_1", "Q8_0"}
    single = groups["Q4_1"][0]
    assert single.filename == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert single.size == bundled_model.stat().st_size
    assert len(single.sha256[single.filename]) == 64
    split = groups["Q8_0"][0]
    assert split.parts == ("smollm2-135m-instruct-q8_0-00001-of-00002.gguf",
                           "smollm2-135m-instruct-q8_0-00002-of-00002.gguf")
    assert split.size == 128
    assert files.revision == "0123456789abcdef0123456789abcdef01234567"
    assert all(not f.filename.endswith(".md") for f in files.files)


def test_unknown_repository_is_a_clear_404_message(fake_hub):
    with pytest.raises(RepoNotFoundError, match="nobody/nothing does not exist on the Hub"):
        Hub().files("nobody/nothing")


def test_gated_repository_without_token_says_how_to_log_in(fake_hub):
    with pytest.raises(GatedRepoError) as caught:
        Hub().files("meta-llama/Gated-GGUF")
    message = str(caught.value)
    assert "meta-llama/Gated-GGUF is gated" in message and "401" in message
    assert "hf auth login" in message


def test_gated_repository_with_the_login_token_lists_its_files(fake_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    assert Hub().files("meta-llama/Gated-GGUF").files[0].quantization == "Q4_K_M"


def test_token_file_written_by_hf_login_is_used(fake_hub, hf_env):
    token_file = hf_env.parent / "token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("hf_from_file\n")
    assert Hub().files("meta-llama/Gated-GGUF").files


def test_repository_without_gguf_files_says_so(fake_hub):
    with pytest.raises(NoGGUFFilesError, match="acme/no-gguf-here has no GGUF files"):
        Hub().files("acme/no-gguf-here")


def test_offline_mode_explains_why_search_is_unavailable(fake_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(fake_hub.requests)
    with pytest.raises(HubOfflineError, match="offline mode is on"):
        Hub().search("smol")
    assert len(fake_hub.requests) == before  # nothing was sent


def test_unreachable_hub_is_a_network_error(hf_env, monkeypatch):
    # A quick reachability check answers before huggingface_hub's own retries (~23 s for
    # list_models) would.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused
    with pytest.raises(HubNetworkError, match="You appear to be offline"):
        Hub().files(SMOL)


@pytest.mark.parametrize("name, quant", [
    ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1"),
    ("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
    ("qwen2.5-0.5b-instruct-q8_0-00001-of-00003.gguf", "Q8_0"),
    ("model-IQ2_XXS.gguf", "IQ2_XXS"),
    ("Qwen3-8B-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
    ("phi-4-BF16.gguf", "BF16"),
    ("sub/dir/gemma-3-4b-it-f16.gguf", "F16"),
    ("no-label.gguf", "other"),
])
def test_quantization_from_file_name(name, quant):
    assert quantization_of(name) == quant


def test_incomplete_split_sets_are_not_offered():
    files = group_files([("m-00001-of-00003.gguf", 10, None), ("m-00002-of-00003.gguf", 10, None),
                         ("x.gguf", 5, None)])
    assert [f.filename for f in files] == ["x.gguf"]
