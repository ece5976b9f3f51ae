"""Placeholder: `clerk policy …` is being written (policy engine)."""


def register(sub) -> None:
    return None
