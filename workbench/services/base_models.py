"""`workbench doctor`'s Models lines: each model of the library that looks like a base model
(core/base_model.py), with the way to use it (raw completion)."""

from __future__ import annotations

from collections.abc import Iterator

from ..core.base_model import NOTICE, file_looks_base
from ..core.errors import WorkbenchError
from ..core.paths import AppPaths
from ..library.gguf_metadata import read_gguf_info
from ..library.known_models import library_models
from .doctor_status import OK, WARNING, Check

RAW_FIX = ("raw completion: a variant's Engine flags --chat-template raw (or the model bar's "
           "Use raw completion), `workbench generate --raw`")


def base_model_checks(paths: AppPaths) -> Iterator[Check]:
    models = library_models(paths)
    base = []
    for model in models:
        try:
            if file_looks_base(read_gguf_info(model.path)):
                base.append(model)
        except WorkbenchError:
            continue  # a damaged file is the Models tab's to report
    for model in base:
        yield Check("Models", model.name, WARNING, f"{NOTICE.lower().removeprefix('this ')} "
                    f"(no chat template, no instruct/chat/it in its name): {model.path}", RAW_FIX)
    if not base:
        count = len(models)
        yield Check("Models", "base models", OK, f"none among the library's {count} "
                    f"model{'s' if count != 1 else ''}")
