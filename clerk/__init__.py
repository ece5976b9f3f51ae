"""clerk: a keyboard-driven terminal workstation for an identity-card office."""

__version__ = "0.1.0"
