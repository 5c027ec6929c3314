"""An importer of a table format the app does not read itself: pipe-separated values
(``.psv``), a header line, then a row per line. tests/plugins/test_plugins_in_docs_and_tune.py
gives it to ``workbench tune`` as training data."""

from workbench.core.records import RowProblem
from workbench.core.tabular import Rows
from workbench.plugins import hookimpl
from workbench.plugins.contributions import Importer

__version__ = "1.0"


def read(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    columns = [cell.strip() for cell in lines[0].split("|")]
    rows, numbers, problems = [], [], []
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) != len(columns):
            problems.append(RowProblem(number, f"{len(cells)} cells, the header has "
                                               f"{len(columns)}"))
            continue
        rows.append(dict(zip(columns, cells)))
        numbers.append(number)
    return Rows(columns, rows, problems, numbers)


@hookimpl
def register_importers(register):
    register(Importer("pipe-separated values", (".psv",), read))
