"""A plugin whose every contribution is the documented type and records its calls: the
product drives it in tests/plugins/test_hooks_through_the_product.py."""

from workbench.core.generation import DoneEvent, GenerationStats, TokenEvent
from workbench.core.model_info import ModelMetadata, SpecialTokens
from workbench.core.tabular import Rows
from workbench.plugins import hookimpl
from workbench.plugins.contributions import (
    Backend,
    Exporter,
    Flag,
    Importer,
    OutputFilter,
    PromptTransform,
    Scorer,
)

__version__ = "1.0"
EVENTS: list = []
WRITTEN: dict = {}


class EchoGeneration:
    """Answers with the last message's text, as one token."""

    def __init__(self, text: str):
        self.text, self.seed = text, None

    def __iter__(self):
        yield TokenEvent(self.text, 1)
        yield DoneEvent(self.text, GenerationStats(1, 1, 0, 0.001, 1000.0, 0.001, "stop"))

    def cancel(self):
        pass


class EchoModel:
    def __init__(self, reference: str):
        self.reference = reference
        self.metadata = ModelMetadata(
            path=f"echo+{reference}", name="echo", architecture="echo", parameter_count=0,
            quantization="", file_size=0, context_length=4096, n_ctx=4096, n_layers=0,
            vocab_size=0, chat_template=None, special_tokens=SpecialTokens(None, None, "", ""),
            offload_supported=False, gpu_layers_requested=0, gpu_layers_offloaded=0)

    def start(self):
        return self.metadata

    def generate(self, request):
        EVENTS.append(("generate", request.messages[-1].content))
        return EchoGeneration(request.messages[-1].content)

    def close(self):
        pass


@hookimpl
def register_backends(register):
    register(Backend("echo", EchoModel))


@hookimpl
def register_scorers(register):
    register(Scorer("vowels", lambda text, expected: float(sum(c in "aeiou" for c in text))))


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
    def read(path):
        lines = [line for line in open(path, encoding="utf-8").read().splitlines() if line]
        return Rows(["line"], [{"line": line} for line in lines], [])
    register(Importer("one case per line", (".lines",), read))


@hookimpl
def register_exporters(register):
    register(Exporter("recorded", ".rec", lambda path, rows: WRITTEN.update({path: rows})))


@hookimpl
def run_will_start(run):
    EVENTS.append(("run_will_start", run.id))


@hookimpl
def output_did_finish(output):
    EVENTS.append(("output_did_finish", output.id))
