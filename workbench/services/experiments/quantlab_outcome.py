"""What a quantization lab leaves: its folder and results, reopened as a report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import WorkbenchError
from ...core.paths import AppPaths, app_paths
from .quantlab_report import build_report
from .report_doc import ReportDocument


@dataclass
class QuantLabOutcome:
    folder: Path
    results: dict

    @property
    def arms(self) -> list[dict]:
        return self.results["arms"]

    def report(self) -> ReportDocument:
        return build_report(self.results)


def quantized_folder(paths: AppPaths | None = None) -> Path:
    """Where the lab's files go (each added to the library where it lies)."""
    return (paths or app_paths()).data / "quantized"


def load_results(path: Path) -> QuantLabOutcome:
    """A stored experiment (its folder or its results.json) as an outcome, to show again."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    try:
        results = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise WorkbenchError(f"Cannot read the lab's results {file}: {error}") from None
    return QuantLabOutcome(file.parent, results)
