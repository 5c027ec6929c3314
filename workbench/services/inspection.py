"""The token inspector's use cases: an output's stored tokens, where two outputs of a case part
ways, and how likely a case's expected answer is under a variant's model and prompt.

Tokens come from the trace stored with each output (services/compare.py collects it while
generating). Outputs stored before traces existed still work: their text is tokenized by
their model, and what was not captured (the top-k at a position) is recomputed by scoring the
text under the same prompt (ModelHost.score: teacher forcing, nothing generated).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from ..core.cases import TestCase
from ..core.errors import WorkbenchError
from ..core.generation import ScoreRequest
from ..core.messages import ChatMessage
from ..core.model_info import AdapterSpec, LoadSettings
from ..core.prompts import PromptVersion
from ..core.retrieved_context import compose
from ..core.runs import Output, Variant
from ..core.tokens import AnswerLikelihood, Divergence, TokenInfo, TokenTrace
from ..core.wording import counted
from ..plugins.manager import PluginManager
from ..store import Store
from .compare import VariantSpec
from .models import ModelService
from .retrieval_context import sent_variables

DEFAULT_TOP_K = 5
# Text that exercises a tokenizer (words, digits, punctuation, code, accents, CJK, emoji):
# two tokenizers that split it into the same ids over vocabularies of the same size are
# taken to be the same tokenizer.
TOKENIZER_PROBE = ("The quick brown fox jumps over 13 lazy dogs — 1,234.5% faster! "
                   "def f(x):\n    return x ** 2  # café, naïve, Zürich, 東京, Привет 🦘")


def load_fields(engine_settings: dict[str, Any]) -> dict[str, Any]:
    """The LoadSettings fields among a variant's recorded engine settings (the rest, e.g. what
    llama.cpp resolved, is provenance, not a way to load)."""
    return {key: value for key, value in engine_settings.items()
            if key in LoadSettings.engine_fields() and value is not None}


def adapters_of(path: str | None, scale: float | None) -> tuple[AdapterSpec, ...]:
    return (AdapterSpec(path, 1.0 if scale is None else scale),) if path else ()


class InspectionService:
    def __init__(self, store: Store, models: ModelService, plugins: PluginManager | None = None):
        self.store = store
        self.models = models
        self.plugins = plugins
        self._variants: dict[str, Variant] = {}
        self._versions: dict[str, PromptVersion] = {}
        self._cases: dict[str, TestCase] = {}
        self._tokenizers: dict[tuple[str, str], tuple[bool, str]] = {}
        self._lock = threading.Lock()

    # -- tokens --------------------------------------------------------------------------

    def trace(self, output: Output) -> TokenTrace | None:
        """The output's tokens as generated; None when it was stored without them."""
        if output.token_trace is not None:
            return output.token_trace
        return self.store.runs.token_trace(output.id)

    def tokens(self, output: Output) -> tuple[TokenInfo, ...]:
        """The stored trace's tokens or, without one, the text tokenized by the output's model
        (ids and bytes only)."""
        trace = self.trace(output)
        if trace is not None:
            return trace.tokens
        return self._tokenize(self.model_for(self.variant_of(output)), output.text)

    # -- where two outputs part ways ------------------------------------------------------

    def first_divergence(self, a: Output, b: Output, *, top_k: int = DEFAULT_TOP_K
                         ) -> Divergence:
        """The shared token prefix of two outputs (of the same case), the first position where
        they differ, and each output's token there with its model's top-k alternatives.
        Across models with different tokenizers token positions mean nothing: the outputs are
        compared by characters, and ``note`` says so."""
        same, why = self.same_tokenizer(a, b)
        if not same:
            return self._by_characters(a, b, top_k, why)
        tokens_a, tokens_b = self.tokens(a), self.tokens(b)
        ids_a = [t.token_id for t in tokens_a]
        ids_b = [t.token_id for t in tokens_b]
        shared = common_prefix(ids_a, ids_b)
        if shared == len(ids_a) == len(ids_b):
            return Divergence(shared, None, None, None, True)
        notes: list[str] = []
        at_a = self._with_alternatives(a, tokens_a, shared, top_k, notes)
        at_b = self._with_alternatives(b, tokens_b, shared, top_k, notes)
        return Divergence(shared, shared, at_a, at_b, True, " ".join(dict.fromkeys(notes)))

    def same_tokenizer(self, a: Output, b: Output) -> tuple[bool, str]:
        """Whether the two outputs' models split text alike, and if not, how they differ.
        One model file (with or without adapters) has one tokenizer; two files are compared
        by their vocabulary size and the ids they give a probe text."""
        if a.model_path == b.model_path:
            return True, ""
        key = (a.model_path, b.model_path)
        with self._lock:
            known = self._tokenizers.get(key)
        if known is not None:
            return known
        model_a = self.model_for(self.variant_of(a))
        model_b = self.model_for(self.variant_of(b))
        vocab_a, vocab_b = model_a.metadata.vocab_size, model_b.metadata.vocab_size
        probe_a = model_a.tokenize(TOKENIZER_PROBE, add_special=False, parse_special=False)
        probe_b = model_b.tokenize(TOKENIZER_PROBE, add_special=False, parse_special=False)
        if vocab_a != vocab_b:
            found = (False, f"vocabularies of {vocab_a} and {vocab_b} tokens")
        elif probe_a != probe_b:
            found = (False, f"a probe text splits into {len(probe_a)} and "
                     f"{counted(len(probe_b), 'token')}"
                     if len(probe_a) != len(probe_b) else "a probe text gets different ids")
        else:
            found = (True, "")
        with self._lock:
            self._tokenizers[key] = self._tokenizers[key[::-1]] = found
        return found

    def _by_characters(self, a: Output, b: Output, top_k: int, why: str) -> Divergence:
        shared = common_prefix(a.text, b.text)
        note = (f"The two models have different tokenizers ({why}): compared by characters, "
                "so the shared prefix and the position count characters; each side shows its "
                "own token at that character.")
        if shared == len(a.text) == len(b.text):
            return Divergence(shared, None, None, None, False, note)
        notes = [note]
        sides = []
        for output in (a, b):
            tokens = self.tokens(output)
            index = token_at_byte(tokens, len(output.text[:shared].encode("utf-8")))
            sides.append(None if index is None else
                         self._with_alternatives(output, tokens, index, top_k, notes))
        return Divergence(shared, shared, sides[0], sides[1], False, " ".join(notes))

    def _with_alternatives(self, output: Output, tokens: tuple[TokenInfo, ...], position: int,
                           top_k: int, notes: list[str]) -> TokenInfo | None:
        """The output's token at ``position`` (None: the output ended before it) with its
        top-k: as captured while generating, else recomputed by scoring the output's tokens up
        to there under its own model and prompt."""
        if position >= len(tokens):
            return None
        token = tokens[position]
        if token.top or top_k <= 0:
            return token
        prefix = tokens[:position + 1]
        answer = b"".join(t.piece for t in prefix).decode("utf-8", "replace")
        try:
            variant = self.variant_of(output)
            scored = self.score(variant, self.messages_for(output, variant), answer, top_k)
        except WorkbenchError as error:
            notes.append(f"The alternatives could not be recomputed: {error}")
            return token
        if [t.token_id for t in scored.tokens[:position + 1]] != [t.token_id for t in prefix]:
            notes.append("The alternatives could not be recomputed: the text up to there "
                         "tokenizes differently from how it was generated.")
            return token
        found = scored.tokens[position]
        notes.append("Alternatives not captured while generating were recomputed by scoring "
                     "the output under its prompt.")
        return replace(token, logprob=found.logprob, top=found.top)

    # -- the likelihood of an expected answer ----------------------------------------------

    def likelihood(self, target: Variant | VariantSpec, case: TestCase, *,
                   top_k: int = DEFAULT_TOP_K, answer: str | None = None,
                   output: Output | None = None) -> AnswerLikelihood:
        """How likely the case's expected answer (or ``answer``) is under the variant's model
        and prompt: each token's log-probability given the prompt and the tokens before it.
        ``output``: one of the variant's outputs of the case, whose prompt's retrieved context
        (if any) the prompt gets too."""
        text = case.expected if answer is None else answer
        if not text:
            raise WorkbenchError("The case has no expected answer to score: fill in its "
                                 "expected output.")
        if isinstance(target, VariantSpec):
            version, adapters = target.prompt_version, adapters_of(target.adapter_path,
                                                                   target.adapter_scale)
            model = self._model_for_spec(target)
        else:
            version, adapters = self.version(target.prompt_version_id), adapters_of(
                target.adapter_path, target.adapter_scale)
            model = self.model_for(target)
        return self._score(model, self.messages(version, case, output), text, top_k, adapters)

    def score(self, variant: Variant, messages: list[ChatMessage], answer: str,
              top_k: int = DEFAULT_TOP_K) -> AnswerLikelihood:
        return self._score(self.model_for(variant), messages, answer, top_k,
                           adapters_of(variant.adapter_path, variant.adapter_scale))

    @staticmethod
    def _score(model, messages: list[ChatMessage], answer: str, top_k: int,
               adapters: tuple[AdapterSpec, ...]) -> AnswerLikelihood:
        score = getattr(model, "score", None)
        if score is None:
            raise WorkbenchError("This model cannot score an answer (its backend has no "
                                 "scoring).")
        return score(ScoreRequest(answer=answer, messages=tuple(messages), top_k=top_k,
                                  adapters=adapters))

    # -- what an output was generated from ------------------------------------------------

    def variant_of(self, output: Output) -> Variant:
        with self._lock:
            found = self._variants.get(output.variant_id)
        if found is None:
            for variant in self.store.runs.get(output.run_id).variants:
                with self._lock:
                    self._variants[variant.id] = variant
            with self._lock:
                found = self._variants.get(output.variant_id)
        if found is None:
            raise WorkbenchError(f"The variant of output {output.id} is not stored.")
        return found

    def version(self, version_id: str) -> PromptVersion:
        with self._lock:
            found = self._versions.get(version_id)
        if found is None:
            found = self.store.prompts.version(version_id)
            with self._lock:
                self._versions[version_id] = found
        return found

    def case_of(self, output: Output) -> TestCase:
        if output.case_id is None:
            raise WorkbenchError(f"Output {output.id} belongs to no test case.")
        with self._lock:
            found = self._cases.get(output.case_id)
        if found is None:
            run = self.store.runs.get(output.run_id)
            if run.case_set_id is not None:
                for case in self.store.case_sets.get(run.case_set_id).cases:
                    with self._lock:
                        self._cases[case.id] = case
            with self._lock:
                found = self._cases.get(output.case_id)
        if found is None:
            raise WorkbenchError(f"The test case of output {output.id} is not stored.")
        return found

    def messages(self, version: PromptVersion, case: TestCase,
                 output: Output | None = None) -> list[ChatMessage]:
        """The conversation the model saw, built as the comparison builds it (with the
        retrieved context ``output``'s prompt held)."""
        messages = compose(version, sent_variables(self.store, output, case.variables))
        if self.plugins is not None:
            messages = self.plugins.transform(messages)
        return list(messages)

    def messages_for(self, output: Output, variant: Variant | None = None) -> list[ChatMessage]:
        variant = variant or self.variant_of(output)
        return self.messages(self.version(variant.prompt_version_id), self.case_of(output),
                             output)

    def model_for(self, variant: Variant):
        """The variant's model, loaded with the settings it ran with (a model still loaded
        from the run is shared, not loaded again)."""
        try:
            if self.models.is_remote(variant.model_path):
                return self.models.open_remote(variant.model_path)
            return self.models.load(self.models.settings_for(
                variant.model_path, **load_fields(variant.engine_settings)))
        except WorkbenchError as error:
            raise WorkbenchError(f"The model {variant.model_path} cannot be loaded: "
                                 f"{error}") from None

    def _model_for_spec(self, spec: VariantSpec):
        if self.models.is_remote(spec.model):
            return self.models.open_remote(spec.model)
        return self.models.load(self.models.settings_for(
            spec.model, n_ctx=spec.n_ctx, n_gpu_layers=spec.n_gpu_layers, **spec.engine))

    @staticmethod
    def _tokenize(model, text: str) -> tuple[TokenInfo, ...]:
        """Text as the model splits it (no BOS, special-token text kept as text: as an
        answer is tokenized for scoring), with each token's exact bytes."""
        ids = model.tokenize(text, add_special=False, parse_special=False)
        pieces_of = getattr(model, "pieces", None)
        if pieces_of is not None:
            pieces = list(pieces_of(ids))
        else:  # a backend without exact pieces: a token's text (mid-character: replaced)
            pieces = [model.detokenize([i]).encode("utf-8") for i in ids]
        return tuple(TokenInfo(i, piece) for i, piece in zip(ids, pieces))


def common_prefix(a, b) -> int:
    """How many leading items (tokens, characters) two sequences share."""
    shared = 0
    for x, y in zip(a, b):
        if x != y:
            break
        shared += 1
    return shared


def token_at_byte(tokens: tuple[TokenInfo, ...], offset: int) -> int | None:
    """The index of the token whose bytes cover byte ``offset`` of the joined pieces; None when
    the tokens end before it."""
    end = 0
    for index, token in enumerate(tokens):
        end += len(token.piece)
        if end > offset:
            return index
    return None
