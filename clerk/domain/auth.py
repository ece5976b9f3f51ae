"""Users, logins and roles.

Passwords are argon2id hashes (argon2-cffi defaults; rehashed on login when the parameters move).
`max_failed_logins` failures in a row lock the account for `lockout_minutes`; the failure count is
committed even though the login is refused. Roles are checked here, in the services, not only
hidden in the UI: every service that needs a role calls `require_role`.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlmodel import func, select

from clerk.domain import audit
from clerk.domain.clock import utcnow
from clerk.domain.codes import LANGUAGES, ROLES, SUPERVISORS
from clerk.domain.models import User
from clerk.errors import NotFound, Refused, UsageError

if TYPE_CHECKING:
    from clerk.context import Context

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Actor:
    """Who is acting, and where: passed to every service."""

    user_id: int | None
    username: str
    role: str
    full_name: str = ""
    language: str = "en"
    counter: int | None = None
    terminal: str = ""

    def at(self, counter: int | None = None, terminal: str | None = None) -> Actor:
        return replace(
            self,
            counter=counter if counter is not None else self.counter,
            terminal=terminal if terminal is not None else self.terminal,
        )

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISORS


# The command line is run by the office's IT person on the server: it acts as an administrator.
SYSTEM = Actor(user_id=None, username="system", role="admin", terminal="cli")


@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not a password of anyone")


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Refused(
            f"{actor.username} ({actor.role}) may not do this; it needs {' or '.join(roles)}"
        )


def check_username(name: str) -> str:
    name = name.strip().lower()
    if not USERNAME_RE.match(name):
        raise UsageError(
            "a user name is 2–32 characters: a letter, then letters, digits, '.', '_' or '-'"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    if password.strip() != password or "\n" in password:
        raise UsageError("a password may not start or end with spaces or contain line breaks")
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _actor_of(user: User, counter: int | None = None, terminal: str = "") -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        full_name=user.full_name,
        language=user.language,
        counter=counter,
        terminal=terminal,
    )


def add_user(
    ctx: Context,
    actor: Actor,
    username: str,
    role: str,
    password: str,
    *,
    full_name: str = "",
    language: str | None = None,
) -> Actor:
    require_role(actor, "admin")
    username = check_username(username)
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r} (valid: {', '.join(ROLES)})")
    check_password(password)
    language = language or ctx.config.ui.language
    if language not in LANGUAGES:
        raise UsageError(f"unknown language {language!r} (valid: {', '.join(LANGUAGES)})")
    digest = hash_password(password)
    with ctx.db.write() as s:
        if s.exec(select(User.id).where(User.username == username)).first() is not None:
            raise UsageError(f"user {username!r} already exists")
        user = User(
            username=username,
            role=role,
            password_hash=digest,
            full_name=full_name.strip(),
            language=language,
        )
        s.add(user)
        s.flush()
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "user.add",
            subject_type="user",
            subject_id=user.id,
            after={"username": username, "role": role},
        )
        return _actor_of(user)


def set_password(ctx: Context, actor: Actor, username: str, password: str) -> None:
    if actor.username != username:
        require_role(actor, "admin")
    check_password(password)
    digest = hash_password(password)
    with ctx.db.write() as s:
        user = _get_user(s, username)
        user.password_hash = digest
        user.failed_logins = 0
        user.locked_until = None
        s.add(user)
        audit.append(
            s, ctx.audit_key, actor, "user.password", subject_type="user", subject_id=user.id
        )


def set_language(ctx: Context, actor: Actor, language: str) -> Actor:
    if language not in LANGUAGES:
        raise UsageError(f"unknown language {language!r} (valid: {', '.join(LANGUAGES)})")
    with ctx.db.write() as s:
        user = _get_user(s, actor.username)
        before = user.language
        user.language = language
        s.add(user)
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "user.language",
            subject_type="user",
            subject_id=user.id,
            before={"language": before},
            after={"language": language},
        )
    return replace(actor, language=language)


def _get_user(s, username: str) -> User:
    user = s.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(ctx: Context) -> list[tuple[str, str, str, bool, bool]]:
    """(username, role, full name, active, locked now) for every user."""
    now = utcnow()
    with ctx.db.read() as s:
        rows = s.exec(
            select(
                User.username, User.role, User.full_name, User.active, User.locked_until
            ).order_by(User.username)
        ).all()
    return [(u, r, n, a, bool(lock and lock > now)) for u, r, n, a, lock in rows]


def count_users(ctx: Context) -> int:
    with ctx.db.read() as s:
        return s.exec(select(func.count()).select_from(User)).one()


class LoginRefused(Refused):
    pass


def authenticate(
    ctx: Context,
    username: str,
    password: str,
    *,
    counter: int | None = None,
    terminal: str = "",
    purpose: str = "login",
) -> Actor:
    """Check a password. Counts failures and locks the account; audited either way.

    `purpose` is "login", "unlock" (idle lock) or "approve" (a supervisor at a clerk's counter).
    """
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    username = username.strip().lower()
    sec = ctx.config.security
    now = utcnow()
    refusal: str | None = None
    with ctx.db.write() as s:
        user = s.exec(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            # spend the same time as a real check: no user enumeration by timing
            with contextlib.suppress(VerificationError):
                _hasher().verify(_dummy_hash(), password)
            where = Actor(None, username or "?", "none", counter=counter, terminal=terminal)
            audit.append(s, ctx.audit_key, where, f"{purpose}.failed", after={"reason": "unknown"})
            refusal = "wrong user name or password"
        elif user.locked_until is not None and user.locked_until > now:
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
            audit.append(
                s,
                ctx.audit_key,
                _actor_of(user, counter, terminal),
                f"{purpose}.refused",
                subject_type="user",
                subject_id=user.id,
                after={"reason": "locked"},
            )
            refusal = (
                f"this account is locked after too many failed attempts; try again in "
                f"{minutes} min or ask an administrator"
            )
        else:
            try:
                _hasher().verify(user.password_hash, password)
                ok = True
            except (VerifyMismatchError, InvalidHashError, VerificationError):
                ok = False
            actor = _actor_of(user, counter, terminal)
            if not ok:
                user.failed_logins += 1
                detail = {"reason": "password", "failures": user.failed_logins}
                if user.failed_logins >= sec.max_failed_logins:
                    user.locked_until = now + timedelta(minutes=sec.lockout_minutes)
                    user.failed_logins = 0
                    detail["locked_until"] = user.locked_until.isoformat()
                s.add(user)
                audit.append(
                    s,
                    ctx.audit_key,
                    actor,
                    f"{purpose}.failed",
                    subject_type="user",
                    subject_id=user.id,
                    after=detail,
                )
                refusal = "wrong user name or password"
                if user.locked_until is not None and user.locked_until > now:
                    refusal = (
                        f"too many failed attempts: the account is locked for "
                        f"{sec.lockout_minutes} min"
                    )
            elif purpose == "approve" and user.role not in SUPERVISORS:
                # the right password of somebody who may not approve: refused, and audited as
                # a refusal (never as an approval that a role check undid afterwards)
                audit.append(
                    s,
                    ctx.audit_key,
                    actor,
                    "approve.refused",
                    subject_type="user",
                    subject_id=user.id,
                    after={"reason": "role"},
                )
                refusal = (
                    f"{user.username} ({user.role}) may not do this; it needs "
                    f"{' or '.join(SUPERVISORS)}"
                )
            else:
                user.failed_logins = 0
                user.locked_until = None
                if purpose == "login":
                    user.last_login_at = now
                if _hasher().check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher().hash(password)
                s.add(user)
                audit.append(
                    s, ctx.audit_key, actor, purpose, subject_type="user", subject_id=user.id
                )
                return actor
    raise LoginRefused(refusal or "wrong user name or password")


def confirm_supervisor(
    ctx: Context, username: str, password: str, *, counter: int | None = None, terminal: str = ""
) -> Actor:
    """A supervisor types their own password at a clerk's counter to approve one thing."""
    actor = authenticate(
        ctx, username, password, counter=counter, terminal=terminal, purpose="approve"
    )
    require_role(actor, *SUPERVISORS)
    return actor
