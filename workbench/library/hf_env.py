"""Hugging Face settings read from the environment at call time.

huggingface_hub reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE and HF_HUB_OFFLINE once, when it is
imported; the workbench reads them on every call and passes them explicitly (``endpoint=``,
``cache_dir=``, ``token=``) so a changed environment (a test's fake Hub, a new login) takes effect.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "on", "yes", "true"}


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hf_home() -> Path:
    home = os.environ.get("HF_HOME")
    if home:
        return Path(os.path.expandvars(home)).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "huggingface"


def hub_cache_dir() -> Path:
    """Where hf_hub_download keeps files: HF_HUB_CACHE, else HF_HOME/hub."""
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if cache:
        return Path(os.path.expandvars(cache)).expanduser()
    return hf_home() / "hub"


def is_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in _TRUE


def hub_token() -> str | bool:
    """The standard login token (HF_TOKEN, else the file `hf auth login` writes), or False.

    False (not None) tells huggingface_hub not to look for a token itself: its own lookup uses
    the HF_HOME it saw at import time.
    """
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        return token.strip()
    path = os.environ.get("HF_TOKEN_PATH") or str(hf_home() / "token")
    try:
        token = Path(path).expanduser().read_text("utf-8").strip()
    except OSError:
        return False
    return token or False
