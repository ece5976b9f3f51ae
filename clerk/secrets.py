"""Secrets: the database password, the audit HMAC key, card PINs and keys.

Resolved in this order, first found wins:
1. `CLERK_<NAME>` environment variable;
2. `CLERK_<NAME>_FILE`: a file holding it;
3. the secrets folder (`security.secrets_dir`, default `<user data dir>/secrets`): a file named
   `<name>` in lower case, e.g. `audit_key`;
4. the OS keyring (service "clerk"), only where a real backend exists: never a plaintext or
   null keyring, and never a prompt (that would freeze the TUI).
A missing secret is one line naming every place looked. Secrets are never logged, and never
stored in the database or the config file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from clerk.errors import Failure, UsageError

if TYPE_CHECKING:
    from clerk.config import Config

KNOWN = ("DB_PASSWORD", "AUDIT_KEY", "CARD_PIN", "CARD_ADMIN_KEY")
KEYRING_SERVICE = "clerk"


def secrets_dir(config: Config | None) -> Path:
    if config is not None and config.security.secrets_dir:
        return Path(config.security.secrets_dir)
    from clerk.paths import user_data_dir

    return user_data_dir() / "secrets"


def _check_name(name: str) -> str:
    name = name.upper().replace("-", "_")
    if name not in KNOWN:
        raise UsageError(f"unknown secret {name!r} (known: {', '.join(KNOWN)})")
    return name


def _usable_keyring():
    """The keyring backend if it is a real, non-interactive one; else None."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:  # pragma: no cover
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    module = type(backend).__module__
    if module.startswith("keyrings.alt") or "plaintext" in type(backend).__name__.lower():
        return None  # a plaintext file pretending to be a keyring
    return backend


def lookup(name: str, config: Config | None = None) -> tuple[str | None, str, list[str]]:
    """(value, where it was found, the places looked). Never logs the value."""
    name = _check_name(name)
    env = f"CLERK_{name}"
    file_var = f"{env}_FILE"
    candidate = secrets_dir(config) / name.lower()
    looked = [f"${env}", f"${file_var}", str(candidate)]
    if os.environ.get(env):
        return os.environ[env], f"${env}", looked
    if os.environ.get(file_var):
        path = Path(os.environ[file_var])
        try:
            return path.read_text(encoding="utf-8").strip(), f"${file_var} ({path})", looked
        except OSError as exc:
            raise Failure(
                f"{file_var} names {path}, which cannot be read: {exc.strerror}"
            ) from None
    if candidate.is_file():
        try:
            return candidate.read_text(encoding="utf-8").strip(), str(candidate), looked
        except OSError as exc:
            raise Failure(f"cannot read secret file {candidate}: {exc.strerror}") from None
    backend = _usable_keyring()
    if backend is None:
        looked.append("(no usable OS keyring)")
        return None, "", looked
    looked.append("the OS keyring")
    try:
        value = backend.get_password(KEYRING_SERVICE, name)
    except Exception:  # noqa: BLE001 - a broken keyring is "not found here"
        value = None
    return (value, "the OS keyring", looked) if value else (None, "", looked)


def get_secret(name: str, config: Config | None = None, *, required: bool = True) -> str | None:
    value, _where, looked = lookup(name, config)
    if value is None and required:
        raise Failure(f"secret {_check_name(name)} is not set; looked in {', '.join(looked)}")
    return value


def store_in_keyring(name: str, value: str) -> None:
    name = _check_name(name)
    backend = _usable_keyring()
    if backend is None:
        raise Failure(
            "no usable OS keyring here (a headless server has none); use the secrets folder instead"
        )
    backend.set_password(KEYRING_SERVICE, name, value)


def store_secret_file(name: str, value: str, config: Config | None = None) -> Path:
    """Write a secret into the secrets folder, owner-only (`clerk secrets set`)."""
    name = _check_name(name)
    folder = secrets_dir(config)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name.lower()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    os.replace(tmp, path)
    return path
