"""Screens: they call services and show results. No SQL and no business rules here."""
