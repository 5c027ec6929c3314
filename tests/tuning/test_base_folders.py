"""A Hugging Face model folder as a tuning base: safetensors are loaded, a pickled .bin beside
them is never opened (unpickling runs code), and a folder with only .bin is refused clearly."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from workbench.core.tuning_errors import UnsupportedBaseError
from workbench.tuning.base_model import inspect_base
from workbench.tuning.trainer.hf_model import load_model


class Planted:
    """Unpickling this creates a file: proof that a pickle was opened."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def hf_folder(bundled_model, tmp_path_factory) -> Path:
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("hf-base")
    source = dict(pretrained_model_name_or_path=str(bundled_model.parent),
                  gguf_file=bundled_model.name)
    model = AutoModelForCausalLM.from_pretrained(**source)
    # transformers will not save_pretrained a model it dequantized from GGUF: write the
    # weights and the config as a Hugging Face folder holds them.
    save_model(model, str(folder / "model.safetensors"))
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.save_pretrained(folder)
    AutoTokenizer.from_pretrained(**source).save_pretrained(folder)
    return folder


def test_safetensors_are_loaded_and_a_pickle_beside_them_is_never_opened(hf_folder, tmp_path):
    marker = tmp_path / "the-pickle-ran"
    (hf_folder / "pytorch_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    info = inspect_base(str(hf_folder))
    assert info.kind == "folder" and info.model_type == "llama" and info.n_layers == 30
    model = load_model(hf_folder)
    assert model.config.num_hidden_layers == 30
    assert not marker.exists()


def test_a_folder_with_only_pickled_weights_is_refused_with_the_reason(hf_folder, tmp_path):
    only_bin = tmp_path / "only-bin"
    only_bin.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (only_bin / name).write_bytes((hf_folder / name).read_bytes())
    marker = tmp_path / "the-pickle-ran"
    (only_bin / "pytorch_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(UnsupportedBaseError, match="no .safetensors weights.*pickled .bin"):
        inspect_base(str(only_bin))
    with pytest.raises(UnsupportedBaseError):
        load_model(only_bin)
    assert not marker.exists()
