"""The domain: tables, services and the pure policy engine. Never imports Textual."""
