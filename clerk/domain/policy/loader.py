"""Reading the rule files of `data/policy/`: TOML, checked against a schema, versioned by date.

A malformed file fails with `path:line: reason`. Syntax errors take their line from `tomllib`;
for a semantic error (an unknown key, a negative amount, a code outside the contract) the line of
the offending key is found in the raw text by `_key_lines`.

Parsed files are cached by path, modification time and size: they do not change while the
program runs, and an edited file is read again.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

from clerk.domain.policy.codes import LANGUAGES
from clerk.errors import Failure, UsageError

T = TypeVar("T")
KeyPath = tuple[str | int, ...]
Text = dict[str, str]  # language code → string, for every language of LANGUAGES


class PolicyDataError(Failure):
    """A rule file is malformed (the message names the file, the line and the reason)."""


def policy_dir() -> Path:
    """The folder of the rule files (`data/policy/`, or below `CLERK_DATA_DIR`)."""
    from clerk.paths import data_dir

    return data_dir() / "policy"


# --- where a key stands in the raw text ---------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_DOTTED_PART = re.compile(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""")


def _split_dotted(key: str) -> tuple[str, ...]:
    return tuple(part.strip("\"'") for part in _DOTTED_PART.findall(key))


def _key_lines(text: str) -> dict[KeyPath, int]:
    """Map each key path (array-of-tables elements as indexes) to its 1-based line number.

    Enough of TOML for the files we write: table and array-of-tables headers, bare, quoted and
    dotted keys at the start of a line. Lines inside multi-line basic strings are skipped; the
    continuation lines of a multi-line array hold no `key =` and are passed over.
    """
    lines: dict[KeyPath, int] = {}
    latest: dict[tuple[str, ...], int] = {}  # array-of-tables name path → its latest index
    counts: dict[KeyPath, int] = {}
    prefix: KeyPath = ()
    in_string = False

    def resolve(names: tuple[str, ...]) -> KeyPath:
        path: list[str | int] = []
        for depth in range(1, len(names) + 1):
            path.append(names[depth - 1])
            if names[:depth] in latest:
                path.append(latest[names[:depth]])
        return tuple(path)

    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            in_string = line.count('"""') % 2 == 0
            continue
        header = _HEADER.match(line)
        if header:
            names = _split_dotted(header.group(2))
            if header.group(1) == "[[":
                parent = resolve(names[:-1]) + (names[-1],)
                counts[parent] = counts.get(parent, -1) + 1
                latest[names] = counts[parent]
            prefix = resolve(names)
            lines.setdefault(prefix, number)
            continue
        key = _KEY.match(line)
        if key:
            path = prefix + _split_dotted(key.group(1))
            for depth in range(len(prefix) + 1, len(path) + 1):
                lines.setdefault(path[:depth], number)
            in_string = line.count('"""') % 2 == 1
    return lines


# --- a parsed file and a checked walk through it ------------------------------------------


@dataclass(frozen=True)
class Source:
    """One parsed rule file, with the line of every key for error messages."""

    path: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int]

    def error(self, where: KeyPath, reason: str) -> PolicyDataError:
        for depth in range(len(where), -1, -1):
            line = self.lines.get(where[:depth])
            if line is not None:
                return PolicyDataError(f"{self.path}:{line}: {reason}")
        return PolicyDataError(f"{self.path}: {reason}")

    def root(self) -> Node:
        return Node(self, self.data, ())


def _dotted(path: KeyPath) -> str:
    """`("version", 1, "fee", 0, "code")` → `version[1].fee[0].code` (indexes from 0)."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.lstrip(".") or "(top level)"


@dataclass(frozen=True)
class Node:
    """A value of a rule file and where it stands; typed accessors fail with the line."""

    source: Source
    value: Any
    path: KeyPath

    def fail(self, reason: str) -> PolicyDataError:
        return self.source.error(self.path, f"{_dotted(self.path)}: {reason}")

    def table(self, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> Node:
        """Check this is a table with the required keys and no key outside the two lists."""
        if not isinstance(self.value, dict):
            raise self.fail("expected a table")
        allowed = set(required) | set(optional)
        for key in self.value:
            if key not in allowed:
                valid = ", ".join(sorted(allowed)) or "none"
                raise self.child(key).fail(f"unknown key {key!r} (valid: {valid})")
        for key in required:
            if key not in self.value:
                raise self.fail(f"missing key {key!r}")
        return self

    def child(self, key: str | int) -> Node:
        return Node(self.source, self.value[key], (*self.path, key))

    def get(self, key: str) -> Node | None:
        return self.child(key) if key in self.value else None

    def key_names(self) -> Iterator[str]:
        return iter(self.value)

    def items(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.fail("expected an array")
        return [self.child(index) for index in range(len(self.value))]

    def string(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.fail("expected a non-empty string")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.fail("expected true or false")
        return self.value

    def whole(self, minimum: int = 0) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.fail("expected a whole number")
        if self.value < minimum:
            raise self.fail(f"{self.value} is below the minimum {minimum}")
        return self.value

    def day(self) -> date:
        if not isinstance(self.value, date) or hasattr(self.value, "hour"):
            raise self.fail("expected a date (YYYY-MM-DD, no time)")
        return self.value

    def choice(self, valid: tuple[str, ...]) -> str:
        value = self.string()
        if value not in valid:
            raise self.fail(f"unknown code {value!r} (valid: {', '.join(valid)})")
        return value

    def choices(self, valid: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(item.choice(valid) for item in self.items())

    def text(self, placeholders: dict[str, object] | None = None) -> Text:
        """A trilingual string: a table with one non-empty string per language.

        `placeholders` are the `{names}` the strings may use; any other fails here, not later.
        """
        self.table(required=LANGUAGES)
        text = {lang: self.child(lang).string() for lang in LANGUAGES}
        for lang, value in text.items():
            try:
                value.format(**(placeholders or {}))
            except (KeyError, IndexError, ValueError) as exc:
                raise self.child(lang).fail(f"bad placeholder in {value!r}: {exc}") from None
        return text


def parse(path: Path) -> Source:
    """Read and parse one rule file; a syntax error names the file and the line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyDataError(f"{path}: cannot read the rule file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PolicyDataError(f"{path}:{line}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        reason = message[: where.start()].strip() if where else message
        line = f"{where.group(1)}" if where else "?"
        column = f" (column {where.group(2)})" if where else ""
        raise PolicyDataError(f"{path}:{line}: {reason}{column}") from None
    return Source(path=path, data=data, lines=_key_lines(text))


# --- versions in force ---------------------------------------------------------------------


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """The versions of one rule file, oldest first; `in_force(on)` picks the one that applies."""

    path: Path
    versions: tuple[tuple[date, T], ...]

    def in_force(self, on: date) -> T:
        return self.version_on(on)[1]

    def effective_from(self, on: date) -> date:
        """When the version in force on `on` took effect (what a record stores)."""
        return self.version_on(on)[0]

    def version_on(self, on: date) -> tuple[date, T]:
        chosen = None
        for version in self.versions:
            if version[0] <= on:
                chosen = version
        if chosen is None:
            first = self.versions[0][0]
            raise UsageError(
                f"no rules of {self.path.name} are in force on {on.isoformat()} "
                f"(the earliest version applies from {first.isoformat()})"
            )
        return chosen


def versioned(
    source: Source,
    build: Callable[[Node], T],
    *,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    shared: tuple[str, ...] = (),
) -> Versioned[T]:
    """Read the `[[version]]` tables of a file with `build`, after checking their keys.

    Each version has `effective_from` and the `required`/`optional` keys; `shared` names the
    top-level keys besides `version` that the file may hold (read by the caller).
    """
    root = source.root().table(required=("version",), optional=shared)
    seen: dict[date, Node] = {}
    versions = []
    for node in root.child("version").items():
        node.table(required=("effective_from", *required), optional=optional)
        effective_from = node.child("effective_from").day()
        if effective_from in seen:
            raise node.child("effective_from").fail(
                f"two versions take effect on {effective_from.isoformat()}"
            )
        seen[effective_from] = node
        versions.append((effective_from, build(node)))
    if not versions:
        raise root.child("version").fail("no version")
    versions.sort(key=lambda pair: pair[0])
    return Versioned(path=source.path, versions=tuple(versions))


_cache: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}
_cache_lock = threading.Lock()


def load(name: str, build: Callable[[Source], T]) -> T:
    """`build(parse(file))` for `data/policy/<name>`, cached until the file changes."""
    path = policy_dir() / name
    try:
        stat = path.stat()
    except OSError as exc:
        raise PolicyDataError(f"{path}: cannot read the rule file ({exc.strerror})") from None
    stamp = (stat.st_mtime_ns, stat.st_size)
    key = (str(path), f"{build.__module__}.{build.__qualname__}")
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    value = build(parse(path))
    with _cache_lock:
        _cache[key] = (stamp, value)
    return value
