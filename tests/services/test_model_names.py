"""One name per model file (services/library.py's ModelNames): the library's, whichever way
the model is given; the GGUF's own general.name is only a detail."""

from __future__ import annotations

from workbench.core.paths import app_paths
from workbench.library.bundled import BUNDLED_NAME
from workbench.library.gguf_metadata import read_gguf_info
from workbench.services.library import LibraryService, ModelNames


def test_a_model_is_named_the_same_by_its_name_its_path_or_a_link_to_it(bundled_model,
                                                                        gemma_model):
    link = app_paths().ensure().models / "gemma-3-270m-long-fine-tune-name-q4_k_m.gguf"
    link.symlink_to(gemma_model)
    names = ModelNames.listed()
    assert names.of(None) == names.of(bundled_model) == names.of(BUNDLED_NAME.upper()) \
        == BUNDLED_NAME
    # A link in the models folder is the library's way to the file: its name, either way.
    assert names.of(link) == names.of(gemma_model) == "gemma-3-270m-long-fine-tune-name-q4_k_m"
    assert names.library_name("/nowhere/Other.Q8_0.gguf") is None
    assert names.of("/nowhere/Other.Q8_0.gguf") == "Other.Q8_0"  # not listed: its stem
    reference = "openai+http://127.0.0.1:8080/v1?model=smollm2"
    assert names.of(reference) == reference
    # The GGUF's own name is a detail, never the name.
    gguf_name = read_gguf_info(bundled_model).name
    assert gguf_name == "Smollm2 135M 8k Lc100K Mix1 Ep2" and names.of(bundled_model) != gguf_name
    assert ModelNames.detail(gguf_name) == f"GGUF name: {gguf_name}"
    library = LibraryService()
    try:
        assert library.names().of(link) == names.of(link)
    finally:
        library.close()
