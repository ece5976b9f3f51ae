"""A simulated card behind pcscd's virtual reader driver (`vsmartcard-vpcd`).

vpcd listens on TCP (35963 for its first slot, 35964 for the second); a card program connects
to it: an open connection is a card in the reader, a closed one a card taken out. Every message
either way is a 2-byte big-endian length and a payload. A 1-byte payload from vpcd is a control:
00 power off, 01 power on, 02 reset, 04 "send the ATR" (only 04 is answered, with the ATR); a
longer one is a command APDU, answered with the response data and SW1 SW2.

vpcd writes the length and the payload separately; with delayed ACKs each APDU would cost about
40 ms, so the socket gets TCP_QUICKACK after every receive (about 0.2 ms per APDU then).

NEVER run this on a production workstation: anything that can reach the vpcd port can pose as a
card in the counter's reader. vpcd belongs on development and test machines only.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from clerk.devices.reader import PulledOut, SimulatedCard

log = logging.getLogger(__name__)

VPCD_PORT = 35963
READER_CONF_DIR = Path("/etc/reader.conf.d")
POWER_OFF, POWER_ON, RESET, GET_ATR = 0x00, 0x01, 0x02, 0x04


class _Closed(Exception):  # noqa: N818 - vpcd closed the connection
    pass


class VpcdCard:
    """Puts `card` into vpcd's reader at `host:port` while inserted; reconnects when pcscd
    restarts (the card goes back in as soon as vpcd listens again)."""

    def __init__(
        self,
        card: SimulatedCard,
        host: str = "127.0.0.1",
        port: int = VPCD_PORT,
        *,
        quickack: bool = True,
        retry: float = 0.1,
        on_event: Callable[[str], None] | None = None,
    ):
        self.card = card
        self.host, self.port = host, port
        self.quickack = quickack and hasattr(socket, "TCP_QUICKACK")
        self.retry = retry
        self.on_event = on_event or (lambda _text: None)
        self.connected = threading.Event()
        self.apdus = 0
        self._wanted = False
        self._wake = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- control ---------------------------------------------------------------------------------
    def insert(self) -> VpcdCard:
        """Start serving (on a thread); returns at once. `wait_inserted` waits for vpcd."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._wanted = True
                return self
            self._wanted = True
            self._wake.clear()
            self._thread = threading.Thread(target=self.run, name="vpcd-card", daemon=True)
            self._thread.start()
        return self

    def wait_inserted(self, timeout: float = 5.0) -> bool:
        return self.connected.wait(timeout)

    def remove(self, wait: float = 2.0) -> None:
        """Take the card out: close the connection and stop reconnecting."""
        with self._lock:
            self._wanted = False
            self._wake.set()
            self._drop()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)

    def _drop(self) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> None:
        """Serve until `remove()` (or a `PulledOut` from the card); blocking."""
        self._wanted = True
        while self._wanted:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2)
            except OSError:
                self._wake.wait(self.retry)  # vpcd is not listening (yet): pcscd is down
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sock = sock
                if not self._wanted:
                    sock.close()
                    break
            self.connected.set()
            self.on_event("inserted")
            try:
                self._serve(sock)
            except PulledOut:
                self._wanted = False
            except (_Closed, OSError):
                pass
            finally:
                with self._lock:
                    self._sock = None
                sock.close()
                self.connected.clear()
                self.card.power_off()
                self.on_event("removed")

    def _serve(self, sock: socket.socket) -> None:
        while True:
            length = int.from_bytes(self._recv(sock, 2), "big")
            payload = self._recv(sock, length)
            if length == 1:
                control = payload[0]
                if control == POWER_OFF:
                    self.card.power_off()
                elif control in (POWER_ON, RESET):
                    self.card.power_on()
                elif control == GET_ATR:
                    self._send(sock, bytes(self.card.atr))  # polled: changes nothing
                else:
                    log.debug("vpcd sent unknown control %02X", control)
                continue
            self.apdus += 1
            self._send(sock, self.card.process(payload))

    def _recv(self, sock: socket.socket, count: int) -> bytes:
        buf = bytearray()
        while len(buf) < count:
            chunk = sock.recv(count - len(buf))
            if not chunk:
                raise _Closed()
            if self.quickack:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            buf += chunk
        return bytes(buf)

    @staticmethod
    def _send(sock: socket.socket, payload: bytes) -> None:
        sock.sendall(len(payload).to_bytes(2, "big") + payload)


def vpcd_configured(folder: Path = READER_CONF_DIR) -> list[Path]:
    """The system pcscd's reader configs that load vpcd (the Debian package installs one): on a
    production workstation each is a reader anyone who reaches its port can put a card into."""
    found = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        try:
            if "libifdvpcd" in entry.read_text(encoding="utf-8", errors="replace"):
                found.append(entry)
        except OSError:
            continue
    return found
