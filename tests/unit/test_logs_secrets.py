"""Personal data masked in logs; secrets resolved in order, never silently from plaintext."""

from __future__ import annotations

import os
import stat

import pytest

from clerk.errors import Failure, UsageError
from clerk.logs import mask
from clerk.secrets import get_secret, store_secret_file


@pytest.mark.parametrize(
    "raw,masked",
    [
        ("applicant 1234567(3) lodged", "applicant 12****7(3) lodged"),
        ("id 51023387", "id 51*****7"),
        ("name 陳大文 ok", "name ＊＊＊ ok"),
        ("receipt 01261121000123", "receipt 01261121000123"),
    ],
)
def test_mask(raw, masked):
    assert mask(raw) == masked


def test_secret_resolution_order(tmp_path, monkeypatch):
    from clerk.config import Config

    cfg = Config()
    cfg.security.secrets_dir = str(tmp_path / "secrets")
    monkeypatch.delenv("CLERK_CARD_PIN", raising=False)
    with pytest.raises(Failure) as err:
        get_secret("CARD_PIN", cfg)
    assert "$CLERK_CARD_PIN" in err.value.message and "card_pin" in err.value.message
    path = store_secret_file("CARD_PIN", "1234", cfg)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert get_secret("CARD_PIN", cfg) == "1234"
    file = tmp_path / "pin.txt"
    file.write_text("5678\n")
    monkeypatch.setenv("CLERK_CARD_PIN_FILE", str(file))
    assert get_secret("CARD_PIN", cfg) == "5678"
    monkeypatch.setenv("CLERK_CARD_PIN", "9999")
    assert get_secret("CARD_PIN", cfg) == "9999"


def test_unknown_secret_name():
    with pytest.raises(UsageError, match="unknown secret"):
        get_secret("COLOUR")


def test_plaintext_keyring_is_never_used(monkeypatch):
    from clerk import secrets

    class PlaintextKeyring:
        priority = 1

        def get_password(self, service, name):
            return "leaked"

    import keyring

    monkeypatch.setattr(keyring, "get_keyring", lambda: PlaintextKeyring())
    assert secrets._usable_keyring() is None


def test_secrets_cli_check_and_set(tmp_path, capsys, monkeypatch):
    import io

    from clerk.cli import main

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[security]\nsecrets_dir = "{tmp_path / "s"}"\n')
    monkeypatch.delenv("CLERK_CARD_PIN", raising=False)
    assert main(["secrets", "check", "CARD_PIN", "--config", str(cfg)]) == 1
    assert "missing" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("4321\n"))
    assert main(["secrets", "set", "card-pin", "--config", str(cfg)]) == 0
    assert main(["secrets", "check", "CARD_PIN", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "set (" in out and "4321" not in out
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["secrets", "set", "CARD_PIN", "--config", str(cfg)]) == 2
    assert main(["secrets", "set", "COLOUR", "--config", str(cfg)]) == 2
