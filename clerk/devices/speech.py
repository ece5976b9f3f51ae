"""Spoken calls for the display board: espeak-ng, offline, never a cloud voice.

One background thread speaks the calls in order, so two calls made together are not spoken over
each other and the board's event loop never waits for the speaker.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import threading

SPEAK_TIMEOUT_S = 20


def call_text(tag: str, counter: int) -> str:
    """'A017' at counter 3 → 'A 0 1 7, counter 3' (spoken letter by letter, digit by digit)."""
    return f"{' '.join(tag)}, counter {counter}"


class Announcer:
    """Speaks texts with espeak-ng when it is installed; otherwise does nothing."""

    def __init__(self, voice: str = "en", program: str | None = None):
        self.program = program or shutil.which("espeak-ng")
        self.voice = voice
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=50)
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        return self.program is not None

    def say(self, text: str) -> bool:
        """Queue a text; False when there is no speaker or too much is queued already."""
        if not self.available:
            return False
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait(text)
        except queue.Full:
            return False
        return True

    def _run(self) -> None:
        while True:
            text = self._queue.get()
            if text is None:
                return
            try:
                subprocess.run(
                    [self.program, "-v", self.voice, "--", text],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=SPEAK_TIMEOUT_S,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                continue

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=SPEAK_TIMEOUT_S)
            self._thread = None
