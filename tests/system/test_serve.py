"""`clerk serve`: textual-serve on localhost paints the login screen in a (scripted) browser."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pyte
import pytest

from tests.system.loopback import free_port, wait_until_listening

ROOT = Path(__file__).resolve().parents[2]


def test_serve_refuses_a_public_address(capsys):
    from clerk.cli import main

    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "this machine only" in capsys.readouterr().err


@pytest.fixture
def served(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    env = dict(os.environ)
    subprocess.run(
        [sys.executable, "-m", "clerk", "demo", "--seed-only", "--db", url],
        check=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "clerk", "serve", "--port", str(port), "--db", url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_until_listening(proc, port, "clerk serve", timeout=30)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_serve_delivers_the_login_screen(served):
    import aiohttp

    async def run() -> list[str]:
        screen = pyte.Screen(100, 30)
        stream = pyte.ByteStream(screen)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{served}/") as page:
                assert page.status == 200
                assert "clerk" in await page.text()
            ws_url = f"ws://127.0.0.1:{served}/ws?width=100&height=30"
            async with session.ws_connect(ws_url) as ws:
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    try:
                        msg = await ws.receive(timeout=5)
                    except TimeoutError:
                        continue
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        stream.feed(msg.data)
                    elif msg.type == aiohttp.WSMsgType.TEXT:
                        stream.feed(msg.data.encode())
                    elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        break
                    if any("User name" in line for line in screen.display):
                        break
        return screen.display

    display = asyncio.run(run())
    assert any("User name" in line for line in display), "\n".join(display)
