"""Under the variants table: the rows whose model looks like a base model and that still
prompt it as a chat, with one click to switch them to raw completion (their Engine flags get
``--chat-template raw``, kept with the session's variants and recorded with the run).

Whether a model is a base model is read from its GGUF header off the GUI thread (resolving a
name lists the library), once per model name.
"""

from __future__ import annotations

from ...core.base_model import NOTICE, RAW_TEMPLATE, why_base
from ...core.engine_flags import parse_engine_flags
from ...core.errors import SettingsError
from ..base_model_notice import BaseModelNotice, bar_loads
from ..job_bridges import run_in_background
from .variants_table import ENGINE_COLUMN, VariantsTable

RAW_FLAG = f"--chat-template {RAW_TEMPLATE}"


class VariantBaseNotice(BaseModelNotice):
    def __init__(self, table: VariantsTable, models):
        """``models``: the ModelService (``looks_like_base``, ``raw_by_default``)."""
        super().__init__(table)
        self.table, self.models = table, models
        self.base: dict[str, str | None] = {}  # model -> its file if a base model, else None
        self._asked: set[str] = set()
        table.layout().insertWidget(1, self)  # between the rows and their buttons
        table.edited.connect(self.refresh)
        table.changed.connect(self.refresh)
        bar_loads().seen.connect(self.refresh)  # the file's template may be raw now
        self.use_raw.connect(self.switch_to_raw)

    def refresh(self) -> None:
        for row in range(self.table.count()):
            model = self.table.model_choice(row)
            if model and model not in self.base and model not in self._asked:
                self._ask(model)
        rows = self.base_rows()
        if not rows:
            self.hide()
            return
        labels = ", ".join(f"'{self.table.label(r)}'" for r in rows)
        models = sorted({self._shown_model(r) for r in rows})
        who = f"Variant {labels} uses" if len(rows) == 1 else f"Variants {labels} use"
        self.show_notice(f"{who} {', '.join(models)}: {NOTICE.lower().removeprefix('this ')}",
                         why_base(models[0]))

    def _ask(self, model: str) -> None:
        self._asked.add(model)

        def check() -> str | None:
            base = self.models.looks_like_base(model)
            return str(self.models.resolve(model)) if base else None

        def learned(path: str | None) -> None:
            self.base[model] = path
            self.refresh()

        # A model that cannot be read gets no notice: the run names what is wrong with it.
        run_in_background(check, self, learned, lambda _message: learned(None))

    def base_rows(self) -> list[int]:
        """Rows with a base model whose flags name no chat template (a half-typed flag: not
        judged until it parses)."""
        rows = []
        for row in range(self.table.count()):
            path = self.base.get(self.table.model_choice(row) or "")
            # A file whose chosen template is raw already loads raw for every variant (its
            # path is known: no library listing here).
            if path is None or self.models.raw_by_default(path):
                continue
            try:
                named = parse_engine_flags(self._flags(row).text()).get("template_name")
            except SettingsError:
                continue
            if named is None:
                rows.append(row)
        return rows

    def switch_to_raw(self) -> None:
        for row in self.base_rows():
            flags = self._flags(row)
            flags.setText(f"{flags.text().strip()} {RAW_FLAG}".strip())
        self.table.edited.emit()  # setText is no typing: saved with the session's variants

    def _shown_model(self, row: int) -> str:
        """The model by the name the row shows (its reference may be a path)."""
        return self.table.table.cellWidget(row, 2).currentText().strip()

    def _flags(self, row: int):
        return self.table.table.cellWidget(row, ENGINE_COLUMN)
