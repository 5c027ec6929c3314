"""Cold start: what the window imports before its first paint, and the model loaded early.

Times belong to tests/bench/bench_startup.py; these tests check the causes of slowness that can
creep back in: a heavy module imported before it is needed, a preloaded model left unused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from workbench.cli.main import build_parser, opens_gui
from workbench.core.paths import app_paths
from workbench.library.folders import SETTINGS_NAME, SettingsFile
from workbench.ui.app import create_main_window
from workbench.ui.preload import ModelPreload

# Needed later or never: charts in the tune wizard, migrations on a new database, the Hub.
NOT_AT_START = ("pyqtgraph", "alembic", "huggingface_hub", "torch", "llama_cpp")

OPEN_WINDOW = """
import json, sys
from PySide6.QtWidgets import QApplication
from workbench.ui.app import create_main_window
app = QApplication([])
window, services = create_main_window()
window.show()
window.start(None)
for _ in range(20):
    app.processEvents()
print(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))
services.models.close()
services.store.close()
"""


def python(code: str, **env: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, QT_QPA_PLATFORM="offscreen", **env))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_gui_imports_nothing_it_needs_later():
    code = ("import json, sys, workbench.cli.main, workbench.ui.app, workbench.ui.main_window;"
            f"print(json.dumps([m for m in {NOT_AT_START!r} if m in sys.modules]))")
    assert python(code) == []


def test_opening_the_window_again_imports_nothing_it_needs_later(workbench_home):
    """The first start creates the database (Alembic runs then); every later one finds it."""
    code = OPEN_WINDOW.format(names=NOT_AT_START)
    python(code, WORKBENCH_HOME=str(workbench_home))
    assert python(code, WORKBENCH_HOME=str(workbench_home)) == []


def test_opening_the_gui_builds_only_the_gui_parser():
    for argv in ([], ["--safe-mode"], ["gui"], ["gui", "-m", "smol"], ["--safe-mode", "gui"]):
        assert opens_gui(argv), argv
        assert vars(build_parser(gui_only=True).parse_args(argv)) == \
            vars(build_parser().parse_args(argv))
    for argv in (["models"], ["-h"], ["gui", "--help"], ["sessions", "list"]):
        assert not opens_gui(argv), argv
    code = ("import json, sys; from workbench.cli.main import build_parser;"
            "build_parser(gui_only=True);"
            "print(json.dumps([m for m in ('workbench.store', 'workbench.services.tuning',"
            " 'workbench.cli.model_cmds') if m in sys.modules]))")
    assert python(code) == []


def test_the_window_uses_the_model_loaded_before_it(qtbot):
    preload = ModelPreload.start(None)
    assert preload.settings is not None  # the bundled model, the window's default
    window, services = create_main_window(models=preload.models, plugins=preload.plugins())
    assert services.plugins is preload.plugins()  # one plugin manager, started by the preload
    qtbot.addWidget(window)
    try:
        window.show()
        with qtbot.waitSignal(window.models.loaded, timeout=60_000):
            window.start(None)
        hosts = services.models.loaded()
        assert [h.settings for h in hosts] == [preload.settings]
        assert window.models.host is hosts[0]
        preload.settle(window.models.host)
        assert services.models.loaded() == hosts
    finally:
        services.models.close()
        services.store.close()


def test_a_preloaded_model_the_window_did_not_use_is_unloaded(qtbot):
    preload = ModelPreload.start(None)
    services_models = preload.models
    try:
        qtbot.waitUntil(lambda: bool(services_models.loaded())
                        and services_models.loaded()[0].alive, timeout=60_000)
        preload.settle(None)  # as when the window's first load failed or chose another
        qtbot.waitUntil(lambda: services_models.loaded() == [], timeout=30_000)
    finally:
        services_models.close()


def test_no_preload_when_a_model_is_named_or_the_bundled_one_is_hidden(bundled_model):
    assert ModelPreload.start("some-model").settings is None
    settings_file = SettingsFile(app_paths().ensure().config / SETTINGS_NAME)
    settings_file.save(settings_file.load().hiding(bundled_model))
    assert ModelPreload.start(None).settings is None
