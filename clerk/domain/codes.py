"""Light constants shared by the CLI and the services (no heavy imports here)."""

ROLES = ("clerk", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
LANGUAGES = ("en", "zh_Hant", "pt")
REPORTS = ("takings", "queue", "applications", "cards", "daily")  # clerk report NAME
