"""Fixtures shared by the vault's integration tests: a home folder and a vault in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from privline.services.ports.vault import Vault
from tests.integration.vault_support import make_vault


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def vault(home: Path) -> Vault:
    return make_vault(home)
