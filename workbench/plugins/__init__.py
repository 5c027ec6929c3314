"""Plugins (pluggy, project name ``workbench``): backends, scorers, transforms, filters,
importers, exporters, panels, menu actions, events. See docs/plugins.md.

Plugins are trusted code: they run inside the app with the user's rights.
"""

from .hookspecs import hookimpl

__all__ = ["hookimpl"]
