"""(being written)"""


def register(commands) -> None:
    """Adds nothing yet."""
