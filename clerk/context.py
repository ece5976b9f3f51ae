"""What a command or the TUI needs, built lazily: the config, then the database."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clerk.config import Config
    from clerk.db import Database


class Context:
    def __init__(self, db_url: str | None = None, config_path: str | None = None):
        self._db_url = db_url
        self._config_path = config_path

    @cached_property
    def config(self) -> Config:
        from clerk.config import load_config

        return load_config(self._config_path)

    @property
    def db_url(self) -> str:
        from clerk.db import default_sqlite_url

        return (
            self._db_url
            or os.environ.get("CLERK_DB_URL")
            or self.config.database.url
            or default_sqlite_url()
        )

    @cached_property
    def db(self) -> Database:
        from clerk.db import Database

        url = self.db_url
        password = None
        if url.startswith("postgres"):
            from clerk.secrets import get_secret

            password = get_secret("DB_PASSWORD", self.config, required=False)
        return Database(
            url,
            busy_timeout_ms=self.config.database.busy_timeout_ms,
            password=password,
            synchronous=self.config.database.sqlite_synchronous,
        )

    @cached_property
    def audit_key(self) -> bytes:
        from clerk.secrets import get_secret

        return get_secret("AUDIT_KEY", self.config).encode("utf-8")

    @property
    def tz(self) -> str:
        return self.config.office.timezone

    def today(self):
        """The office's business date, computed now (never cached)."""
        from clerk.domain.clock import business_day

        return business_day(self.tz)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
