"""`workbench doctor`'s checks: the parsers on recorded tool outputs, and the report on this
machine (real llama.cpp, real Qt child process, real database and plugin folders)."""

from __future__ import annotations

import json
import sys

from workbench.core.paths import app_paths
from workbench.services import doctor, doctor_probes
from workbench.services.doctor import OK, PROBLEM, WARNING, Check
from workbench.services.doctor_checks import database_check
from workbench.services.sessions import open_store
from workbench.store.revisions import head_revision

SECTIONS = ["Python", "Platform", "llama.cpp", "GPUs", "Offload", "Models", "PyTorch", "Ray",
            "Qt", "Data folders", "Database", "Plugins"]

# Recorded: nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits
NVIDIA_SMI_TWO_GPUS = """\
NVIDIA GeForce RTX 4090, 24564, 23012
NVIDIA H100 80GB HBM3, 81559, 80837
"""
NVIDIA_SMI_NOT_SUPPORTED = "NVIDIA GeForce GT 710, [N/A], [N/A]\n"

# Recorded: ldconfig -p on a bare Debian container (no xcb extras, no EGL)
LDCONFIG_BARE = """\
1234 libs found in cache `/etc/ld.so.cache'
\tlibxkbcommon-x11.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0
\tlibxcb.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libxcb.so.1
\tlibxcb-icccm.so.4 (libc6,x86-64) => /lib/x86_64-linux-gnu/libxcb-icccm.so.4
\tlibxcb-keysyms.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libxcb-keysyms.so.1
\tlibxcb-image.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libxcb-image.so.0
\tlibxcb-render-util.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libxcb-render-util.so.0
\tlibGL.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libGL.so.1
"""

# Recorded: PySide6 6.x, QT_QPA_PLATFORM=xcb with DISPLAY unset
QT_NO_DISPLAY = """\
qt.qpa.xcb: could not connect to display 
qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin.
qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.
This application failed to start because no Qt platform plugin could be initialized.
"""


def test_nvidia_smi_lines_become_gpus_and_unusable_lines_are_skipped():
    gpus = doctor_probes.parse_nvidia_smi(NVIDIA_SMI_TWO_GPUS)
    assert [(g.name, g.total_mib, g.free_mib) for g in gpus] == [
        ("NVIDIA GeForce RTX 4090", 24564, 23012), ("NVIDIA H100 80GB HBM3", 81559, 80837)]
    assert doctor_probes.parse_nvidia_smi(NVIDIA_SMI_NOT_SUPPORTED) == []
    assert doctor_probes.parse_nvidia_smi("") == []


def test_missing_xcb_libraries_are_named_with_their_apt_packages():
    known = doctor_probes.parse_ldconfig(LDCONFIG_BARE)
    assert "libxcb-icccm.so.4" in known and "libxcb.so.1" in known
    missing = doctor_probes.missing_libraries(known)
    assert missing == ["libxcb-cursor.so.0", "libEGL.so.1"]
    assert doctor_probes.apt_line(missing) == "sudo apt install libegl1 libxcb-cursor0"


def test_a_failed_qt_start_is_told_by_its_cause_not_qts_generic_hint():
    cause = doctor_probes.qt_failure(QT_NO_DISPLAY)
    assert cause.startswith("could not connect to display")
    assert "xcb-cursor0" not in cause  # Qt prints that hint whether or not the library is there


def test_the_report_on_this_machine_has_every_section_and_no_problem():
    checks = doctor.run_checks()
    assert [s for s in SECTIONS if s not in {c.section for c in checks}] == []
    assert {c.status for c in checks} <= {OK, WARNING, PROBLEM}
    assert [c for c in checks if c.status == PROBLEM] == []
    assert doctor.exit_status(checks) == 0
    by_name = {(c.section, c.name): c for c in checks}
    import llama_cpp

    assert by_name["llama.cpp", "llama.cpp"].detail.startswith(llama_cpp.__version__)
    offload = by_name["Offload", "auto"].detail  # auto's whole choice: layers and sequences
    assert " GPU layers and " in offload and " parallel sequence" in offload
    assert by_name["Qt", "platform"].detail.startswith("offscreen starts")
    assert not app_paths().database.exists()  # the doctor looks; it creates no database


def test_the_report_is_aligned_text_and_json():
    checks = [Check("llama.cpp", "llama.cpp", OK, "0.3.36, CPU build"),
              Check("Qt", "platform", PROBLEM, "xcb cannot start", "set DISPLAY")]
    text = doctor.format_report(checks)
    assert "  ok       llama.cpp  0.3.36, CPU build" in text.splitlines()
    assert "  problem  platform   xcb cannot start" in text.splitlines()
    assert "fix: set DISPLAY" in text and text.endswith("1 problem(s), 0 warning(s)")
    assert doctor.exit_status(checks) == 1
    assert json.loads(doctor.to_json(checks))[1]["fix"] == "set DISPLAY"


def test_a_check_that_raises_becomes_a_problem_naming_the_exception(monkeypatch):
    def broken(_context):
        yield Check("Broken", "first", OK, "found before the failure")
        raise ValueError("bad figure")

    monkeypatch.setattr(doctor, "SECTIONS", [("Broken", broken), ("Python", doctor._python)])
    checks = doctor.run_checks()
    assert [c.name for c in checks][:2] == ["first", "check"]
    assert checks[1].status == PROBLEM and "ValueError: bad figure" in checks[1].detail
    assert checks[1].fix and checks[2].section == "Python"


def test_the_set_up_record_says_which_backend_was_built(tmp_path):
    missing = doctor.setup_record_check(tmp_path)
    assert missing.status == WARNING and "set-up record not found" in missing.detail
    (tmp_path / doctor.SETUP_RECORD).write_text(json.dumps({
        "backend": "cuda", "reason": "nvidia-smi lists a GPU and nvcc is on PATH",
        "cmake_args": ["-DGGML_CUDA=on"]}))
    found = doctor.setup_record_check(tmp_path)
    assert found.status == OK and found.detail.startswith("built for cuda: nvidia-smi")
    assert "-DGGML_CUDA=on" in found.detail
    assert doctor.setup_record_check(sys.prefix).section == "llama.cpp"


def test_the_database_line_gives_path_and_schema_revision():
    paths = app_paths()
    assert "created on first start" in database_check(paths.database).detail
    open_store(paths).close()
    check = database_check(paths.database)
    assert check.status == OK and head_revision() in check.detail
    paths.database.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    damaged = database_check(paths.database)
    assert damaged.status == PROBLEM and damaged.fix


def test_a_plugin_that_fails_to_import_is_a_problem_with_the_command_to_disable_it():
    folder = app_paths().plugins
    folder.mkdir(parents=True)
    (folder / "broken_thing.py").write_text("raise RuntimeError('no config')\n")
    checks = [c for c in doctor.run_checks() if c.section == "Plugins"]
    broken = next(c for c in checks if c.name == "broken_thing")
    assert broken.status == PROBLEM and "no config" in broken.detail
    assert broken.fix.startswith("workbench plugins disable broken_thing")


def test_the_window_reports_its_own_plugin_manager_as_loaded():
    from workbench.plugins.manager import PluginManager

    # Safe mode: the first-party plugins are installed (entry points) but not loaded, so a
    # report that loaded plugins itself would name them.
    manager = PluginManager(safe_mode=True, repo_folder=None).load()
    checks = [c for c in doctor.run_checks(plugins=manager) if c.section == "Plugins"]
    assert [c.name for c in checks] == list(manager.records)
    details = {c.name: c.detail for c in checks}
    assert details["openai_compat"].startswith("not loaded (safe mode)")  # the manager's state


def test_pytorch_is_read_from_its_files_or_asked_in_a_child_never_imported_here():
    """The files' answer (a CPU-only build) is what torch itself says when imported, in a
    child: this process, the window's in Help ▸ System report, does not import torch."""
    imported_before = "torch" in sys.modules
    from_files, from_torch = doctor_probes.torch_from_files(), doctor_probes.torch_in_child()
    assert from_torch.failure == ""
    if from_files is not None:
        assert from_files == from_torch
    if from_torch.found is not None:
        assert from_torch.found["device"] in ("cuda", "mps", "cpu") and from_torch.found["detail"]
    assert doctor_probes.torch_device() == from_torch
    assert ("torch" in sys.modules) == imported_before


def test_a_probe_started_early_answers_the_next_call_once():
    doctor_probes.start_early(doctor_probes.linker_libraries)
    assert "linker_libraries" in doctor_probes._early  # on its way before anyone asks
    early = doctor_probes.linker_libraries()
    assert "linker_libraries" not in doctor_probes._early  # taken: the next call asks again
    assert early == doctor_probes.linker_libraries()
