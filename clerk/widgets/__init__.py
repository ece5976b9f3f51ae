"""Reusable widgets: no SQL, no rules."""
