"""A well-behaved plugin using every hook: the reference for the hook-coverage meta-test."""

from workbench.plugins import hookimpl
from workbench.plugins.contributions import (
    Backend,
    Exporter,
    Flag,
    Importer,
    MenuAction,
    OutputFilter,
    Panel,
    PromptTransform,
    Scorer,
    Setting,
)

__version__ = "2.5"
EVENTS: list = []
GREETINGS: list[str] = ["hello"]


@hookimpl
def register_backends(register):
    register(Backend("echo", lambda reference: reference))


@hookimpl
def register_scorers(register):
    register(Scorer("length", lambda text, expected: float(len(text))))


@hookimpl
def register_prompt_transforms(register):
    register(PromptTransform("shout", lambda messages: [
        type(m)(m.role, m.content.upper()) for m in messages]))


@hookimpl
def register_output_filters(register):
    register(OutputFilter("no secrets", lambda text: [Flag("says secret", 0, 6)]
                          if "secret" in text.lower() else []))


@hookimpl
def register_importers(register):
    register(Importer("lines", (".txt",), lambda path: open(path).read().splitlines()))


@hookimpl
def register_exporters(register):
    register(Exporter("lines", ".txt", lambda path, rows: open(path, "w").write(
        "\n".join(str(r) for r in rows))))


@hookimpl
def register_panels(register):
    def create(context):
        from PySide6.QtWidgets import QLabel
        return QLabel("Hello from a plugin panel")
    register(Panel("Sample panel", create))


@hookimpl
def register_menu_actions(register):
    register(MenuAction("Say hello", lambda context: EVENTS.append(("menu", "hello"))))


@hookimpl
def register_settings(register):
    register(Setting("Greetings", lambda: list(GREETINGS),
                     lambda entries: GREETINGS.__setitem__(slice(None), entries)))


@hookimpl
def run_will_start(run):
    EVENTS.append(("run_will_start", run.id))


@hookimpl
def output_did_finish(output):
    EVENTS.append(("output_did_finish", output.id))


@hookimpl
def tune_job_did_finish(job):
    EVENTS.append(("tune_job_did_finish", job.id))
