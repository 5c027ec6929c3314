"""A tiny document set for these tests: three files with distinct words, and questions whose
gold source is known."""

from __future__ import annotations

from pathlib import Path

FILES = {
    "handbook.md": (
        "# Shifts\n\nThe night shift starts at 22:00 and ends at 06:00 on weekdays. Night "
        "workers get a meal voucher.\n\n# Holidays\n\nEvery employee has 28 days of paid "
        "holiday a year, booked through the rota office.\n"),
    "refunds.md": (
        "# Refunds\n\nRefunds are paid within 14 days of the return reaching our warehouse. "
        "A refund goes back to the card used for the purchase.\n"),
    "security.md": (
        "# Security\n\nBadges must be worn visibly at all times inside the building. A lost "
        "badge is reported to the front desk the same day.\n"),
}

QUESTIONS = [
    ("When does the night shift start?", "handbook.md"),
    ("How many days until refunds are paid?", "refunds.md"),
]

TEMPLATE = "Context:\n{{ context }}\n\nQuestion: {{ question }}\nAnswer briefly."
SYSTEM = "Answer from the context only."


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def make_set(service, folder: Path, name: str = "handbook", session_id: str | None = None):
    """A document set made with the retrieval lab's own service (BM25 needs no embeddings)."""
    service.create_set(name, session_id=session_id)
    service.add(name, [write_corpus(folder)], session_id=session_id)
    return name
