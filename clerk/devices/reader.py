"""The card reader: a small interface over PC/SC (pyscard), and an in-process virtual reader.

A reader lists its readers, connects to the card (a `Connection` with `transmit` and `close`),
reports its state (`ReaderState`: no reader, no card, card present, busy, error) and waits for
the state to change; `ReaderWatcher` runs that wait on a thread of its own and calls back on
every change.

`PcscReader` uses pyscard's low-level `smartcard.scard` API rather than `CardMonitor`, which dies
silently when pcscd restarts: every failure of SCardListReaders / SCardGetStatusChange releases
the context, reports an error state and establishes a new context on the next round, so the
watcher recovers by itself from a pcscd restart or an unplugged reader. Each connection has its
own context (a blocked SCardGetStatusChange would otherwise hold up transmits) and is closed with
SCARD_RESET_CARD, so no verified PIN outlives the session.

`VirtualReader` talks to a card object in the same process (the reference card): unit tests and
`clerk demo`. It is always called "virtual reader" on screen.

Failures are `clerk.errors` exceptions with one clear line. Their English text is a template
marked for translation (`.template`, `.params`) so screens can show it in the clerk's language.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from clerk.errors import Failure, Refused
from clerk.i18n import N_

log = logging.getLogger(__name__)

VIRTUAL_READER_NAME = "clerk virtual reader"

# --- status words (ISO/IEC 7816-4) ---------------------------------------------------------------

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_BLOCKED = 0x6983
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_NO_CURRENT_EF = 0x6986
SW_WRONG_DATA = 0x6A80
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_NOT_FOUND = 0x6A82
SW_NO_SPACE = 0x6A84
SW_WRONG_P1P2 = 0x6A86
SW_DATA_NOT_FOUND = 0x6A88
SW_WRONG_OFFSET = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_UNKNOWN = 0x6F00

SW_TEXT = {
    SW_OK: "success",
    SW_END_OF_FILE: "end of file reached before Le bytes",
    SW_WRONG_LENGTH: "wrong length",
    SW_SECURITY_NOT_SATISFIED: "security status not satisfied",
    SW_BLOCKED: "authentication method blocked",
    SW_CONDITIONS_NOT_SATISFIED: "conditions of use not satisfied",
    SW_NO_CURRENT_EF: "command not allowed (no current EF)",
    SW_WRONG_DATA: "incorrect data",
    SW_FUNCTION_NOT_SUPPORTED: "function not supported",
    SW_NOT_FOUND: "file or application not found",
    SW_NO_SPACE: "not enough memory space in the file",
    SW_WRONG_P1P2: "incorrect parameters P1-P2",
    SW_DATA_NOT_FOUND: "referenced data not found",
    SW_WRONG_OFFSET: "wrong parameters (offset outside the EF)",
    SW_INS_NOT_SUPPORTED: "instruction not supported",
    SW_CLA_NOT_SUPPORTED: "class not supported",
    SW_UNKNOWN: "no precise diagnosis",
}


def describe_sw(sw: int) -> str:
    """`6A82 (file or application not found)`."""
    if sw & 0xFFF0 == 0x63C0:
        text = f"verification failed, {sw & 0x0F} tries left"
    elif sw >> 8 == 0x6C:
        text = f"wrong Le, {sw & 0xFF} bytes available"
    else:
        text = SW_TEXT.get(sw, "unknown status")
    return f"{sw:04X} ({text})"


# --- errors ------------------------------------------------------------------------------------


class _Templated:
    """An error whose English message is `template.format(**params)` (template marked N_)."""

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params))  # type: ignore[call-arg]


class CardFailure(_Templated, Failure):
    """The reader, pcscd or the card failed (exit 1)."""


class CardRefusal(_Templated, Refused):
    """The card says no: another kind of card, wrong PIN, blocked, already locked (exit 2)."""


class NoService(CardFailure):
    pass


class NoReader(CardFailure):
    pass


class NoCard(CardFailure):
    pass


class CardRemoved(CardFailure):
    pass


class CardBusy(CardFailure):
    pass


CARD_ERRORS = (CardFailure, CardRefusal)


class PulledOut(Exception):  # noqa: N818 - an event, not an error of ours
    """Raised by a test hook inside a simulated card: the card leaves the reader right now."""


def no_service() -> NoService:
    return NoService(
        N_("the smart-card service (pcscd) is not running; start it (systemctl start pcscd)")
    )


def card_removed(reader: str) -> CardRemoved:
    return CardRemoved(N_("the card was removed from the reader {reader}"), reader=reader)


# --- state -------------------------------------------------------------------------------------

NO_READER = "no-reader"
NO_CARD = "no-card"
PRESENT = "present"
BUSY = "busy"
ERROR = "error"
STATES = (NO_READER, NO_CARD, PRESENT, BUSY, ERROR)

DETAIL_NO_SERVICE = N_("pcscd is not running")
DETAIL_UNPLUGGED = N_("the reader was unplugged")
DETAIL_MUTE = N_("the card does not answer")
DETAIL_PCSC = N_("the reader reports an error")


@dataclass(frozen=True)
class ReaderState:
    state: str
    reader: str = ""
    atr: bytes = b""
    virtual: bool = False
    detail: str = ""  # for ERROR: a constant English line marked N_ (translate with _())


class Connection(Protocol):
    reader: str
    atr: bytes

    def transmit(self, apdu: bytes) -> tuple[bytes, int]: ...

    def close(self) -> None: ...


class Reader(Protocol):
    virtual: bool

    @property
    def name(self) -> str: ...

    def readers(self) -> list[str]: ...

    def connect(self) -> Connection: ...

    def state(self) -> ReaderState: ...

    def wait_for_change(self, previous: ReaderState | None, timeout: float) -> ReaderState: ...

    def cancel(self) -> None: ...

    def for_watch(self) -> Reader: ...

    def close(self) -> None: ...


class _ConnectionBase:
    """`transmit` with the 6Cxx rule (resend with the Le the card asks for); a context manager."""

    reader: str
    atr: bytes

    def _exchange(self, apdu: bytes) -> bytes:
        raise NotImplementedError

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        response = self._exchange(bytes(apdu))
        if len(response) >= 2 and response[-2] == 0x6C and len(apdu) == 5:
            response = self._exchange(bytes(apdu[:4]) + response[-1:])
        if len(response) < 2:
            raise self._no_answer()
        return response[:-2], int.from_bytes(response[-2:], "big")

    def _no_answer(self) -> CardFailure:
        return CardFailure(N_("the card gave a malformed answer"))

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the virtual reader ------------------------------------------------------------------------


class SimulatedCard(Protocol):
    atr: bytes

    def power_on(self) -> bytes: ...

    def power_off(self) -> None: ...

    def process(self, apdu: bytes) -> bytes: ...


class VirtualReader:
    """A reader in this process holding a simulated card; `insert` and `remove` move cards."""

    virtual = True

    def __init__(self, card: SimulatedCard | None = None, name: str = VIRTUAL_READER_NAME):
        self._name = name
        self._card = card
        self._open = 0
        self._wakeups = 0
        self._changed = threading.Condition()

    @property
    def name(self) -> str:
        return self._name

    @property
    def card(self) -> SimulatedCard | None:
        return self._card

    def insert(self, card: SimulatedCard) -> None:
        with self._changed:
            self._card = card
            self._changed.notify_all()

    def remove(self) -> SimulatedCard | None:
        with self._changed:
            card, self._card = self._card, None
            if card is not None:
                card.power_off()
            self._changed.notify_all()
            return card

    def readers(self) -> list[str]:
        return [self._name]

    def connect(self) -> VirtualConnection:
        with self._changed:
            card = self._card
            if card is None:
                raise NoCard(N_("no card in the reader {reader}"), reader=self._name)
            atr = card.power_on()
            self._open += 1
            self._changed.notify_all()
        return VirtualConnection(self, card, atr)

    def _closed(self) -> None:
        with self._changed:
            self._open = max(0, self._open - 1)
            self._changed.notify_all()

    def state(self) -> ReaderState:
        if self._card is None:
            return ReaderState(NO_CARD, self._name, virtual=True)
        return ReaderState(BUSY if self._open else PRESENT, self._name, virtual=True)

    def wait_for_change(self, previous: ReaderState | None, timeout: float) -> ReaderState:
        with self._changed:
            wakeups = self._wakeups
            self._changed.wait_for(
                lambda: self.state() != previous or self._wakeups != wakeups, timeout
            )
            return self.state()

    def cancel(self) -> None:
        with self._changed:
            self._wakeups += 1
            self._changed.notify_all()

    def for_watch(self) -> VirtualReader:
        return self  # thread-safe: one condition for every waiter

    def close(self) -> None:
        pass


class VirtualConnection(_ConnectionBase):
    def __init__(self, owner: VirtualReader, card: SimulatedCard, atr: bytes):
        self._owner = owner
        self._card: SimulatedCard | None = card
        self.reader = owner.name
        self.atr = atr

    def _exchange(self, apdu: bytes) -> bytes:
        card = self._card
        if card is None:
            raise CardFailure(N_("the connection to the card is closed"))
        if self._owner.card is not card:
            raise card_removed(self.reader)
        try:
            return card.process(apdu)
        except PulledOut:
            self._owner.remove()
            raise card_removed(self.reader) from None

    def close(self) -> None:
        if self._card is not None:
            self._card = None
            self._owner._closed()


# --- PC/SC through pyscard ---------------------------------------------------------------------

# PC/SC return codes (winscard), unsigned
S_SUCCESS = 0x00000000
E_CANCELLED = 0x80100002
E_INVALID_HANDLE = 0x80100003
E_UNKNOWN_READER = 0x80100009
E_TIMEOUT = 0x8010000A
E_SHARING_VIOLATION = 0x8010000B
E_NO_SMARTCARD = 0x8010000C
F_COMM_ERROR = 0x80100013
E_NOT_TRANSACTED = 0x80100016
E_READER_UNAVAILABLE = 0x80100017
E_NO_SERVICE = 0x8010001D
E_SERVICE_STOPPED = 0x8010001E
E_NO_READERS_AVAILABLE = 0x8010002E
W_UNRESPONSIVE_CARD = 0x80100066
W_UNPOWERED_CARD = 0x80100067
W_RESET_CARD = 0x80100068
W_REMOVED_CARD = 0x80100069

NO_ANSWER_WAIT = 1.0  # seconds to wait for pcscd to confirm a removal after an empty answer

SERVICE_GONE = {E_NO_SERVICE, E_SERVICE_STOPPED, F_COMM_ERROR, E_INVALID_HANDLE}
READER_GONE = {E_UNKNOWN_READER, E_READER_UNAVAILABLE}
CARD_GONE = {E_NO_SMARTCARD, W_REMOVED_CARD, W_RESET_CARD}
CARD_MUTE = {W_UNRESPONSIVE_CARD, W_UNPOWERED_CARD}

# SCARD_STATE_* bits
STATE_UNAWARE = 0x0000
STATE_CHANGED = 0x0002
STATE_UNKNOWN = 0x0004
STATE_UNAVAILABLE = 0x0008
STATE_EMPTY = 0x0010
STATE_PRESENT = 0x0020
STATE_EXCLUSIVE = 0x0080
STATE_INUSE = 0x0100
STATE_MUTE = 0x0200


def _u(rc: int) -> int:
    return rc & 0xFFFFFFFF


def _scard():
    try:
        from smartcard import scard
    except ImportError:  # pragma: no cover - pyscard is a dependency
        raise CardFailure(
            N_("pyscard is not installed (it needs libpcsclite1; see the README)")
        ) from None
    return scard


def pcsc_message(rc: int) -> str:
    try:
        return str(_scard().SCardGetErrorMessage(rc)).strip().rstrip(".")
    except Exception:  # noqa: BLE001 - only for a message
        return f"PC/SC error {_u(rc):08X}"


class _Context:
    """One PC/SC context, released on any failure that means pcscd went away."""

    def __init__(self) -> None:
        self.handle: int | None = None

    def get(self) -> int:
        if self.handle is None:
            scard = _scard()
            rc, handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if _u(rc) != S_SUCCESS:
                if _u(rc) in SERVICE_GONE:
                    raise no_service()
                raise CardFailure(N_("cannot talk to pcscd: {message}"), message=pcsc_message(rc))
            self.handle = handle
        return self.handle

    def release(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            try:
                _scard().SCardReleaseContext(handle)
            except Exception:  # noqa: BLE001 - pcscd may be gone already
                log.debug("SCardReleaseContext failed", exc_info=True)

    def list_readers(self) -> list[str]:
        rc, names = _scard().SCardListReaders(self.get(), [])
        rc = _u(rc)
        if rc == S_SUCCESS:
            return list(names)
        if rc == E_NO_READERS_AVAILABLE:
            return []
        self.release()
        if rc in SERVICE_GONE:
            raise no_service()
        raise CardFailure(N_("cannot list the readers: {message}"), message=pcsc_message(rc))


class PcscReader:
    """The reader whose name contains `wanted` ("" = the first one pcscd lists)."""

    virtual = False

    def __init__(self, wanted: str = ""):
        self.wanted = wanted
        self._picked = ""
        self._watch = _Context()
        self._watch_state = STATE_UNAWARE
        self._wake = threading.Event()

    @property
    def name(self) -> str:
        return self._picked or self.wanted or "PC/SC"

    def readers(self) -> list[str]:
        ctx = _Context()
        try:
            return ctx.list_readers()
        finally:
            ctx.release()

    def _pick(self, names: list[str]) -> str:
        for candidate in names:
            if self.wanted.lower() in candidate.lower():
                self._picked = candidate
                return candidate
        if not names:
            raise NoReader(N_("no card reader is connected"))
        raise NoReader(
            N_("no reader matching {wanted!r} (found: {found})"),
            wanted=self.wanted,
            found=", ".join(names),
        )

    def connect(self) -> PcscConnection:
        scard = _scard()
        ctx = _Context()
        try:
            name = self._pick(ctx.list_readers())
            rc, card, protocol = scard.SCardConnect(
                ctx.get(),
                name,
                scard.SCARD_SHARE_EXCLUSIVE,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )
            _raise_for_connect(_u(rc), name)
            rc, _reader, _state, _protocol, atr = scard.SCardStatus(card)
            if _u(rc) != S_SUCCESS:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
                _raise_for_connect(_u(rc), name)
        except BaseException:
            ctx.release()
            raise
        return PcscConnection(ctx, card, protocol, name, bytes(atr))

    def state(self) -> ReaderState:
        return self._poll(None, 0.0)

    def wait_for_change(self, previous: ReaderState | None, timeout: float) -> ReaderState:
        return self._poll(previous, timeout)

    def _poll(self, previous: ReaderState | None, timeout: float) -> ReaderState:
        scard = _scard()
        try:
            name = self._pick(self._watch.list_readers())
        except NoReader:
            self._watch_state = STATE_UNAWARE
            state = ReaderState(NO_READER, self.wanted)
            if state == previous:
                self._sleep(timeout)  # no reader to wait on: look again after the timeout
            return state
        except NoService:
            return self._failed(previous, ERROR, DETAIL_NO_SERVICE, timeout)
        except CardFailure:
            return self._failed(previous, ERROR, DETAIL_PCSC, timeout)
        current = self._watch_state if previous is not None and previous.reader == name else 0
        rc, states = scard.SCardGetStatusChange(
            self._watch.get(), int(timeout * 1000), [(name, current)]
        )
        rc = _u(rc)
        if rc in (E_TIMEOUT, E_CANCELLED) and previous is not None:
            return previous
        if rc not in (S_SUCCESS, E_TIMEOUT, E_CANCELLED):
            if rc in SERVICE_GONE:
                return self._failed(previous, ERROR, DETAIL_NO_SERVICE, timeout)
            if rc in READER_GONE:
                return self._failed(previous, NO_READER, DETAIL_UNPLUGGED, timeout, name)
            return self._failed(previous, ERROR, DETAIL_PCSC, timeout, name)
        _reader, event, atr = states[0]
        self._watch_state = event & ~STATE_CHANGED
        return _state_from_event(name, event, bytes(atr))

    def _failed(
        self,
        previous: ReaderState | None,
        state: str,
        detail: str,
        timeout: float,
        reader: str = "",
    ) -> ReaderState:
        self._watch.release()
        self._watch_state = STATE_UNAWARE
        result = ReaderState(state, reader or self.wanted, detail=detail)
        if result == previous:
            self._sleep(timeout)  # the same failure again: do not spin
        return result

    def _sleep(self, timeout: float) -> None:
        self._wake.wait(timeout)
        self._wake.clear()

    def cancel(self) -> None:
        self._wake.set()
        handle = self._watch.handle
        if handle is not None:
            try:
                _scard().SCardCancel(handle)
            except Exception:  # noqa: BLE001 - waking up is best effort
                log.debug("SCardCancel failed", exc_info=True)

    def for_watch(self) -> PcscReader:
        """A twin with a PC/SC context of its own, for one watcher thread."""
        return PcscReader(self.wanted)

    def close(self) -> None:
        self._watch.release()


def _state_from_event(name: str, event: int, atr: bytes) -> ReaderState:
    if event & (STATE_UNKNOWN | STATE_UNAVAILABLE):
        return ReaderState(NO_READER, name, detail=DETAIL_UNPLUGGED)
    if event & STATE_MUTE:
        return ReaderState(ERROR, name, atr, detail=DETAIL_MUTE)
    if event & STATE_PRESENT:
        busy = event & STATE_EXCLUSIVE
        return ReaderState(BUSY if busy else PRESENT, name, atr)
    return ReaderState(NO_CARD, name)


def _raise_for_connect(rc: int, name: str) -> None:
    if rc == S_SUCCESS:
        return
    if rc in SERVICE_GONE:
        raise no_service()
    if rc in READER_GONE:
        raise NoReader(N_("the reader {reader} was unplugged"), reader=name)
    if rc in CARD_GONE:
        raise NoCard(N_("no card in the reader {reader}"), reader=name)
    if rc in CARD_MUTE:
        raise CardFailure(N_("the card in {reader} does not answer"), reader=name)
    if rc == E_SHARING_VIOLATION:
        raise CardBusy(N_("the card in {reader} is in use by another program"), reader=name)
    raise CardFailure(
        N_("cannot connect to the card in {reader}: {message}"),
        reader=name,
        message=pcsc_message(rc),
    )


class PcscConnection(_ConnectionBase):
    def __init__(self, ctx: _Context, card: int, protocol: int, reader: str, atr: bytes):
        self._ctx = ctx
        self._card: int | None = card
        self._protocol = protocol
        self.reader = reader
        self.atr = atr

    def _exchange(self, apdu: bytes) -> bytes:
        if self._card is None:
            raise CardFailure(N_("the connection to the card is closed"))
        rc, response = _scard().SCardTransmit(self._card, self._protocol, list(apdu))
        rc = _u(rc)
        if rc == S_SUCCESS:
            return bytes(response)
        self.close()
        if rc in SERVICE_GONE:
            raise no_service()
        if rc in READER_GONE:
            raise NoReader(N_("the reader {reader} was unplugged"), reader=self.reader)
        if rc in CARD_GONE or rc in (E_NOT_TRANSACTED, *CARD_MUTE):
            raise card_removed(self.reader)
        raise CardFailure(
            N_("the reader {reader} failed: {message}"),
            reader=self.reader,
            message=pcsc_message(rc),
        )

    def _no_answer(self) -> CardFailure:
        """An empty answer: vpcd gives one when the card left in the middle of a command, and
        pcscd sees the removal only at its next poll (~0.4 s): wait for it, up to a second."""
        scard = _scard()
        card = self._card
        deadline = time.monotonic() + NO_ANSWER_WAIT
        removed = False
        while card is not None and not removed and time.monotonic() < deadline:
            rc = _u(scard.SCardStatus(card)[0])
            removed = rc != S_SUCCESS
            if not removed:
                time.sleep(0.05)
        self.close()
        if removed:
            return card_removed(self.reader)
        return CardFailure(
            N_("the card in {reader} stopped answering; take it out and insert it again"),
            reader=self.reader,
        )

    def close(self) -> None:
        card, self._card = self._card, None
        if card is not None:
            scard = _scard()
            try:
                scard.SCardDisconnect(card, scard.SCARD_RESET_CARD)
            except Exception:  # noqa: BLE001 - the card or pcscd may be gone
                log.debug("SCardDisconnect failed", exc_info=True)
            self._ctx.release()


# --- the watcher -------------------------------------------------------------------------------


class ReaderWatcher:
    """Calls `callback(state)` from its own thread on every change of the reader's state.

    The first call comes at once (the state at start). A failing callback or reader is logged
    and the watch goes on; `stop()` ends it within about `timeout` seconds. Each watcher waits on
    a twin of the reader (`for_watch`), so several may watch one reader.
    """

    def __init__(
        self, reader: Reader, callback: Callable[[ReaderState], None], *, timeout: float = 0.5
    ):
        self.reader = reader.for_watch()
        self.callback = callback
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="card-reader-watcher", daemon=True)

    def start(self) -> ReaderWatcher:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, wait: float = 2.0) -> None:
        self._stop.set()
        self.reader.cancel()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(wait)

    def _run(self) -> None:
        last: ReaderState | None = None
        while not self._stop.is_set():
            try:
                state = self.reader.wait_for_change(last, self.timeout)
            except Exception:  # noqa: BLE001 - a watcher must not die
                log.exception("reader watch failed; trying again")
                state = ReaderState(ERROR, self.reader.name, detail=DETAIL_PCSC)
                self._stop.wait(self.timeout)
            if self._stop.is_set():
                break
            if state != last:
                last = state
                try:
                    self.callback(state)
                except Exception:  # noqa: BLE001
                    log.exception("reader watch callback failed")
        self.reader.close()
