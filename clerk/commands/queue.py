"""Placeholder: `clerk tag …`, `clerk appointment …`, `clerk board` are being written."""


def register(sub) -> None:
    return None
