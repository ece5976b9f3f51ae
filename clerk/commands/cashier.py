"""Placeholder: `clerk receipt …` and `clerk drawer …` are being written."""


def register(sub) -> None:
    return None
