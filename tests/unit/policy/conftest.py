"""Fixtures of the policy engine tests: a private copy of the rule files to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clerk.paths import PACKAGE_DIR

SHIPPED_POLICY = PACKAGE_DIR.parent / "data" / "policy"


@pytest.fixture
def policy_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of `data/policy/` that the engine reads instead of the shipped one."""
    target = tmp_path / "data" / "policy"
    shutil.copytree(SHIPPED_POLICY, target)
    monkeypatch.setenv("CLERK_DATA_DIR", str(target.parent))
    return target


@pytest.fixture(autouse=True)
def shipped_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unless a test asks for a copy, the engine reads the shipped rules."""
    monkeypatch.setenv("CLERK_DATA_DIR", str(SHIPPED_POLICY.parent))


@pytest.fixture
def append_rules(policy_copy: Path):
    """`append_rules("fees.toml", text)`: add TOML (e.g. a newer version) to a copied file."""

    def append(name: str, text: str) -> Path:
        path = policy_copy / name
        path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
        return path

    return append
