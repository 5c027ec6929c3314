"""What one stored output's prompt was: its messages as the comparison built them (with the
retrieved context the prompt held), the text the model read (its chat template rendered by the
model itself), and the chunks retrieval put there with their ranks and scores.

The grid's "Prompt sent…" shows it; a run reopened days later shows the same, because
everything comes from what was stored with the output (the variant, its prompt version, the
case, the recorded chunks), not from the composer's current state.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import WorkbenchError, sentence
from ..core.messages import ChatMessage
from ..core.retrieval import RetrievalSettings, Retrieved
from ..core.runs import Output
from .inspection import InspectionService
from .retrieval_context import recorded


@dataclass(frozen=True)
class SentPrompt:
    variant_label: str
    messages: tuple[ChatMessage, ...]
    rendered: str  # the model's own rendering of the messages ("" when it has none)
    render_note: str  # why there is no rendering (a remote model, a model that cannot load)
    prompt_tokens: int | None  # as the model counted them when it ran
    retrieval: RetrievalSettings | None  # None: nothing was retrieved for this prompt
    chunks: tuple[Retrieved, ...] = ()


def sent_prompt(inspection: InspectionService, output: Output) -> SentPrompt:
    """Blocking (it may load the variant's model to render the template): call it off the GUI
    thread. WorkbenchError when the output's variant, prompt or case is not stored."""
    variant = inspection.variant_of(output)
    messages = tuple(inspection.messages_for(output, variant))
    rendered, note = "", ""
    try:
        model = inspection.model_for(variant)
        render = getattr(model, "render", None)
        if render is None:
            note = "This model's backend does not show its template's rendering."
        else:
            rendered = render(list(messages))
    except WorkbenchError as error:
        note = sentence(f"The template could not be rendered: {error}")
    found = recorded(inspection.store, output.id)
    settings, chunks = found if found is not None else (None, ())
    return SentPrompt(variant.label or "variant", messages, rendered, note,
                      output.prompt_tokens, settings, tuple(chunks))
