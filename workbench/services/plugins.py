"""Start the plugin system and hand its contributions to the services that use them."""

from __future__ import annotations

from ..core.paths import AppPaths

# The window holds a manager and shows safe mode (ui imports only services).
from ..plugins.manager import SAFE_MODE_STATUS, PluginManager  # noqa: F401
from .models import ModelService


def start_plugins(models: ModelService | None = None, *, safe_mode: bool = False,
                  paths: AppPaths | None = None) -> PluginManager:
    manager = PluginManager(safe_mode=safe_mode, paths=paths).load()
    if models is not None:
        models.set_backends({scheme: backend
                             for scheme, (_plugin, backend) in manager.backends().items()})
    return manager
