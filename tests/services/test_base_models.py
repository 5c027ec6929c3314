"""Base models found from the GGUF header (issue 28, item 11): Gemma 3 270M's pretrained file
is one, the bundled SmolLM2-135M-Instruct is not; `workbench doctor` and `workbench info`
say so, and a load with --chat-template raw sends the text as written."""

from __future__ import annotations

import os
import subprocess
import sys

from workbench.core.base_model import NOTICE
from workbench.core.engine_flags import format_engine_flags, parse_engine_flags
from workbench.core.model_info import LoadSettings
from workbench.core.paths import app_paths
from workbench.library.gguf_metadata import read_gguf_info
from workbench.services.base_models import base_model_checks
from workbench.services.doctor_status import OK, WARNING
from workbench.services.models import ModelService


def test_the_header_names_gemma_270m_a_base_model_and_smollm2_instruct_not(gemma_model):
    info = read_gguf_info(gemma_model)
    assert (info.name, info.basename, info.finetune) == ("Gemma 3 270m", "gemma-3", "")
    assert not info.has_chat_template
    models = ModelService()
    assert models.looks_like_base(str(gemma_model))
    assert not models.looks_like_base(None)  # the bundled instruct model


def test_doctor_lists_the_library_s_base_models(gemma_model):
    paths = app_paths().ensure()
    assert [c.status for c in base_model_checks(paths)] == [OK]  # the bundled model only
    os.symlink(gemma_model, paths.models / gemma_model.name)
    checks = list(base_model_checks(paths))
    assert [(c.section, c.name, c.status) for c in checks] == [
        ("Models", gemma_model.stem, WARNING)]
    assert checks[0].detail.startswith("looks like a base model — use raw completion")
    assert "--chat-template raw" in checks[0].fix


def test_workbench_info_says_how_to_prompt_a_base_model(gemma_model):
    done = subprocess.run([sys.executable, "-m", "workbench", "info", str(gemma_model)],
                          capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("prompting"))
    assert NOTICE.lower() in line and "--raw" in line


def test_chat_template_raw_is_a_variant_flag_kept_with_its_engine_settings(gemma_model):
    engine = parse_engine_flags("-fa off --chat-template raw")
    assert engine == {"flash_attn": "off", "template_name": "raw"}
    settings = ModelService().settings_for(str(gemma_model), **engine)
    assert settings.template_name == "raw"
    recorded = settings.engine_settings()
    assert recorded["template_name"] == "raw"
    assert parse_engine_flags(format_engine_flags(recorded)) == engine
    assert "template_name" not in LoadSettings(str(gemma_model)).engine_settings()
