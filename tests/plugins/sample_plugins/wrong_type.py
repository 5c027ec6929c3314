from workbench.plugins import hookimpl
from workbench.plugins.contributions import OutputFilter


@hookimpl
def register_output_filters(register):
    register(OutputFilter("sloppy", lambda text: "not a list of flags"))
