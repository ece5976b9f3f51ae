"""Where things live: the shipped data folder, the user's config, data and log folders."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "clerk"
PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The shipped rules and profiles (`data/` next to the package; `CLERK_DATA_DIR` overrides)."""
    override = os.environ.get("CLERK_DATA_DIR")
    if override:
        return Path(override)
    return PACKAGE_DIR.parent / "data"


def _dirs():
    import platformdirs

    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def user_config_file() -> Path:
    return Path(_dirs().user_config_dir) / "config.toml"


def user_data_dir() -> Path:
    return Path(_dirs().user_data_dir)


def user_log_dir() -> Path:
    return Path(_dirs().user_log_dir)
