"""The first-party plugins, installed as ``workbench_plugins`` (entry point group ``workbench``)."""
