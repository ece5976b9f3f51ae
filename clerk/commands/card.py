"""Placeholder: `clerk card read|personalise|emulate` are being written."""


def register(sub) -> None:
    return None
