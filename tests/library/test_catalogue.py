from __future__ import annotations

import shutil

from workbench.core.paths import app_paths
from workbench.library.bundled import BUNDLED_NAME
from workbench.services.models import ModelService


def test_bundled_model_is_known_and_default(bundled_model):
    service = ModelService()
    names = {m.name: m for m in service.list_models()}
    assert names[BUNDLED_NAME].path == bundled_model
    assert names[BUNDLED_NAME].source == "bundled"
    assert service.resolve(None) == bundled_model.resolve()
    assert service.resolve(BUNDLED_NAME.upper()) == bundled_model.resolve()


def test_models_folder_is_listed_by_file_stem(bundled_model):
    models = app_paths().ensure().models
    copy = models / "my-model.gguf"
    shutil.copy(bundled_model, copy)
    service = ModelService()
    assert any(m.name == "my-model" for m in service.list_models())
    assert service.resolve("my-model") == copy.resolve()


def test_workbench_home_overrides_every_path(workbench_home):
    paths = app_paths()
    for folder in (paths.data, paths.config, paths.cache, paths.logs):
        assert folder.is_relative_to(workbench_home)
