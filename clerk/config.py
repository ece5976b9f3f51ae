"""Configuration: a TOML file, overridden by `CLERK_<SECTION>_<KEY>` environment variables.

Order (later wins): built-in defaults, the file (`--config`, `CLERK_CONFIG`, else the user config
path from platformdirs; a missing default file is fine, a missing named file is an error), then the
environment. Every value is type-checked; a wrong one names the file (or variable), the key and
what was expected. Secrets never live here (see `clerk/secrets.py`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from clerk.errors import UsageError

LANGUAGES = ("en", "zh_Hant", "pt")


@dataclass
class OfficeConfig:
    code: str = "01"
    name: str = "Identification Services Bureau — Headquarters"
    name_zh: str = "身份證明局總部"
    name_pt: str = "Direcção dos Serviços de Identificação — Sede"
    timezone: str = "Asia/Macau"
    opening: str = "09:00"
    closing: str = "18:00"


@dataclass
class CounterConfig:
    number: int = 1  # the counter this terminal stands at; 0 = ask at login


@dataclass
class PrinterConfig:
    kind: str = "folder"  # "cups" (lp -d NAME) or "folder" (PDFs written to a folder)
    name: str = ""
    media: str = "A5"
    folder: str = ""  # default: <user data dir>/print


@dataclass
class CardReaderConfig:
    kind: str = "pcsc"  # "pcsc" (pyscard) or "virtual" (the in-process reference card)
    reader: str = ""  # substring of the reader's name; "" = the first reader


@dataclass
class UiConfig:
    language: str = "en"  # default for new users; each user picks their own
    idle_lock_minutes: int = 5
    theme: str = "clerk"


@dataclass
class SecurityConfig:
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    secrets_dir: str = ""  # a root-owned folder of secret files; "" = <user data dir>/secrets


@dataclass
class DatabaseConfig:
    url: str = ""  # "" = SQLite file in the user data directory
    busy_timeout_ms: int = 10000
    # SQLite only. "full": every commit is on disk before the clerk sees it (survives a power
    # cut). "normal": commits reach the disk at the next checkpoint; a power cut (not a crash of
    # clerk) can take back the last moments' transactions, whole. It saves one fsync per commit,
    # which matters on a slow or busy disk only (bench/queue.py measures both).
    sqlite_synchronous: str = "full"


@dataclass
class LoggingConfig:
    dir: str = ""  # "" = the user log directory
    level: str = "INFO"


@dataclass
class QueueConfig:
    recalls_before_no_show: int = 2
    appointment_grace_minutes: int = 15
    default_daily_cap: int = 0  # tags per service and day; 0 = no cap (a service's own cap wins)
    last_issue: str = ""  # HH:MM, the last moment a tag is issued; "" = office.closing
    finish_on_next: bool = True  # calling the next tag finishes the counter's current one
    default_service_minutes: int = 6  # the wait estimate before any tag was served today
    board_poll_ms: int = 500
    board_announce: bool = True  # speak new calls with espeak-ng where it is installed
    announce_voice: str = "en"
    slip_media: str = ""  # CUPS media for tag slips; "" = printer.media


@dataclass
class CashierConfig:
    variance_threshold_avos: int = 1000  # |counted - expected| above this needs a supervisor
    void_reasons: str = "wrong-amount,wrong-applicant,wrong-tender,duplicate"
    refund_reasons: str = "application-withdrawn,overcharged,exemption-approved-later,duplicate"
    max_float_avos: int = 1_000_000
    collection_address: str = (
        "Avenida da Praia Grande, n.º 804, Edifício China Plaza, 1.º andar, Macau"
    )


@dataclass
class CollectionConfig:
    uncollected_after_days: int = 30  # ready cards not collected after this many days are listed
    counters: str = ""  # collection counters, e.g. "5,6"; "" = those marked so in the database
    require_card_check: bool = False  # the new card must be read (card reader) before hand-over
    scanner_gap_ms: int = 30  # keys closer than this are a barcode scanner's burst


@dataclass
class Config:
    office: OfficeConfig = field(default_factory=OfficeConfig)
    counter: CounterConfig = field(default_factory=CounterConfig)
    printer: PrinterConfig = field(default_factory=PrinterConfig)
    card_reader: CardReaderConfig = field(default_factory=CardReaderConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    cashier: CashierConfig = field(default_factory=CashierConfig)
    collection: CollectionConfig = field(default_factory=CollectionConfig)
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> key(s)
    source: str = "defaults"  # where the file came from, for `clerk config show`

    def sections(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("keymap", "source")
        }


RESERVED_ENV = {"CLERK_CONFIG", "CLERK_DB_URL", "CLERK_DATA_DIR"}


def _coerce(value: Any, kind: type, where: str, key: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.lower() in ("1", "true", "yes", "on")
        raise UsageError(f"{where}: {key} must be true or false, not {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise UsageError(f"{where}: {key} must be a whole number, not {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise UsageError(f"{where}: {key} must be a whole number, not {value!r}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise UsageError(f"{where}: {key} must be a text string, not {value!r}")
    raise AssertionError(kind)  # pragma: no cover


def _apply_section(target: Any, values: Any, where: str, section: str) -> None:
    if not isinstance(values, dict):
        raise UsageError(f"{where}: [{section}] must be a table")
    hints = get_type_hints(type(target))
    for key, value in values.items():
        if key not in hints:
            valid = ", ".join(sorted(hints))
            raise UsageError(f"{where}: unknown key {section}.{key} (valid: {valid})")
        setattr(target, key, _coerce(value, hints[key], where, f"{section}.{key}"))


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path}: {exc}") from None


def _digits(text: str, most: int = 2) -> bool:
    """ASCII digits only (not "²" or "٠١", which `str.isdigit` accepts), at most `most`."""
    return text.isascii() and text.isdigit() and len(text) <= most


def _validate(cfg: Config, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(cfg.office.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"{where}: office.timezone {cfg.office.timezone!r} is not a known "
            "time zone (e.g. Asia/Macau)"
        ) from None
    if cfg.ui.language not in LANGUAGES:
        raise UsageError(f"{where}: ui.language must be one of {', '.join(LANGUAGES)}")
    if cfg.printer.kind not in ("cups", "folder"):
        raise UsageError(f"{where}: printer.kind must be cups or folder")
    if cfg.database.sqlite_synchronous not in ("full", "normal"):
        raise UsageError(f"{where}: database.sqlite_synchronous must be full or normal")
    if cfg.card_reader.kind not in ("pcsc", "virtual"):
        raise UsageError(f"{where}: card_reader.kind must be pcsc or virtual")
    if not (_digits(cfg.office.code) and len(cfg.office.code) == 2):
        raise UsageError(f'{where}: office.code must be two digits, e.g. "01"')
    for key in ("opening", "closing"):
        value = getattr(cfg.office, key)
        hh, _, mm = value.partition(":")
        if not (_digits(hh, 2) and _digits(mm, 2) and int(hh) < 24 and int(mm) < 60):
            raise UsageError(f"{where}: office.{key} must be HH:MM, not {value!r}")
    for name in ("idle_lock_minutes",):
        if getattr(cfg.ui, name) < 0:
            raise UsageError(f"{where}: ui.{name} must not be negative")
    if cfg.collection.uncollected_after_days < 1 or not 1 <= cfg.collection.scanner_gap_ms <= 500:
        raise UsageError(
            f"{where}: collection.uncollected_after_days must be ≥ 1 and "
            "collection.scanner_gap_ms from 1 to 500"
        )
    if not all(n.strip().isdigit() for n in cfg.collection.counters.split(",") if n.strip()):
        raise UsageError(f'{where}: collection.counters lists counter numbers, e.g. "5,6"')
    if cfg.security.max_failed_logins < 1 or cfg.security.lockout_minutes < 0:
        raise UsageError(
            f"{where}: security.max_failed_logins must be ≥ 1 and security.lockout_minutes ≥ 0"
        )


def default_config_path(env: dict[str, str] | None = None) -> tuple[Path, bool]:
    """The config path and whether it was named explicitly (then it must exist)."""
    env = os.environ if env is None else env
    if env.get("CLERK_CONFIG"):
        return Path(env["CLERK_CONFIG"]), True
    from clerk.paths import user_config_file

    return user_config_file(), False


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if env is None else env)
    cfg = Config()
    if path is not None:
        file, explicit = Path(path), True
    else:
        file, explicit = default_config_path(env)
    where = "defaults"
    if explicit or file.exists():
        data = _read_file(file)
        where = str(file)
        cfg.source = where
        for section, values in data.items():
            if section == "keymap":
                if not isinstance(values, dict) or not all(
                    isinstance(v, str) for v in values.values()
                ):
                    raise UsageError(f"{where}: [keymap] maps binding ids to key names (text)")
                cfg.keymap.update(values)
                continue
            target = cfg.sections().get(section)
            if target is None:
                valid = ", ".join([*cfg.sections(), "keymap"])
                raise UsageError(f"{where}: unknown section [{section}] (valid: {valid})")
            _apply_section(target, values, where, section)
    _validate(cfg, where)
    # environment: CLERK_<SECTION>_<KEY>
    sections = cfg.sections()
    for name, value in env.items():
        if not name.startswith("CLERK_") or name in RESERVED_ENV or name.endswith("_FILE"):
            continue
        rest = name[len("CLERK_") :].lower()
        for section, target in sections.items():
            prefix = section + "_"
            if rest.startswith(prefix):
                key = rest[len(prefix) :]
                if key in get_type_hints(type(target)):
                    _apply_section(target, {key: value}, f"environment {name}", section)
                break
    _validate(cfg, "environment")
    return cfg


def sample_config() -> str:
    """A commented config file with every key at its default (`clerk config sample`)."""
    cfg = Config()
    lines = [
        "# clerk configuration. Every key is optional; shown here at its default.",
        "# Environment variables CLERK_<SECTION>_<KEY> override these",
        "# (e.g. CLERK_UI_LANGUAGE=pt).",
        "# Secrets (database password, card PIN, audit key) never go here.",
        "",
    ]
    for section, target in cfg.sections().items():
        lines.append(f"[{section}]")
        for f in dataclasses.fields(target):
            value = getattr(target, f.name)
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, int):
                text = str(value)
            else:
                text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            lines.append(f"{f.name} = {text}")
        lines.append("")
    lines += ["[keymap]", "# binding id = key, e.g.:", '# "counter.call_next" = "f5"', ""]
    return "\n".join(lines)
