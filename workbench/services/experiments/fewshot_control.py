"""The control: an adapter at scale 0 must give exactly the base model's tokens.

Tools that leave an adapter attached (at its last scale, or at 1 when it is not listed) give
"base" answers that are not the base's. The experiment runs the base first (before any adapter
was applied) and the adapter at scale 0 last (after every adapter run), both greedy on the same
cases and seeds, and compares token ids output by output; any difference means the base arms
cannot be trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core.runs import Output


def token_ids(output: Output) -> tuple[int, ...] | str:
    """The output's token ids; its text when the engine gave no trace."""
    if output.token_trace is not None:
        return tuple(t.token_id for t in output.token_trace.tokens)
    return output.text


def compare_outputs(outputs: Mapping[str, Output], base_id: str,
                    other_id: str) -> tuple[int, int]:
    """(pairs compared, pairs that differ) over the (case, repeat) both variants answered."""
    def answers(variant_id: str) -> dict:
        return {(o.case_id, o.repeat): o for o in outputs.values()
                if o.variant_id == variant_id and o.answered}

    base, other = answers(base_id), answers(other_id)
    common = [unit for unit in base if unit in other]
    different = sum(token_ids(base[u]) != token_ids(other[u]) for u in common)
    return len(common), different


def control_result(outputs: Mapping[str, Output], base_id: str | None, zero_id: str | None,
                   adapter_key: str | None, adapters: Mapping[str, Any]) -> dict[str, Any]:
    """What the report says about the control (``equal`` None: it could not run)."""
    adapter = adapters.get(adapter_key) if adapter_key else None
    label = adapter.label if adapter is not None else None
    if base_id is None or zero_id is None:
        why = ("no adapter was trained" if adapter is None else
               f"{adapter.label} did not train" if adapter.status != "done" else
               "the evaluation did not run")
        return {"adapter": label, "equal": None, "pairs": 0, "different": 0,
                "sentence": f"control: adapter at scale 0 = base: not run ({why})"}
    pairs, different = compare_outputs(outputs, base_id, zero_id)
    if pairs == 0:
        return {"adapter": label, "equal": None, "pairs": 0, "different": 0,
                "sentence": "control: adapter at scale 0 = base: not run (no answers to compare)"}
    equal = different == 0
    detail = (f"{pairs} of {pairs} greedy answers token for token" if equal
              else f"{different} of {pairs} greedy answers differ")
    return {"adapter": label, "equal": equal, "pairs": pairs, "different": different,
            "sentence": f"control: adapter at scale 0 = base: {'yes' if equal else 'no'} "
                        f"({label} ×0; {detail})"}
