from workbench.plugins import hookimpl


@hookimpl
def register_scorers(register):
    raise RuntimeError("scorer setup exploded")
