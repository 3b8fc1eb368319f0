"""The PIN key file: created 0600, refused when others can read it, rotated by lines."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from privline.adapters.files import KeyFileError
from privline.adapters.pin_key import PinKeyring, pin_key_id
from privline.settings import Settings


def test_a_new_key_file_is_32_random_bytes_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "pin.key"
    ring = PinKeyring.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(bytes.fromhex(path.read_text().strip())) == 32
    assert PinKeyring.load_or_create(path).current_id == ring.current_id  # never rewritten
    assert "keys=1" in repr(ring) and path.read_text().strip() not in repr(ring)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "pin.key"
    PinKeyring.load_or_create(path)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match="readable by others"):
        PinKeyring.load(path)


def test_missing_empty_or_malformed_key_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="privline init"):
        PinKeyring.load(tmp_path / "none.key")
    for content, message in (("", "no key"), ("zz\n", "not hex"), ("abcd\n", "32 bytes")):
        path = tmp_path / "bad.key"
        path.unlink(missing_ok=True)
        path.write_text(content)
        path.chmod(0o600)
        with pytest.raises(KeyFileError, match=message):
            PinKeyring.load(path)


def test_the_first_line_is_the_current_key_and_later_lines_still_verify(tmp_path: Path) -> None:
    new, old = b"\x02" * 32, b"\x01" * 32
    path = tmp_path / "pin.key"
    path.write_text(f"# rotated\n{new.hex()}\n{old.hex()}\n")
    path.chmod(0o600)
    ring = PinKeyring.load(path)
    assert ring.current_id == pin_key_id(new) != pin_key_id(old)
    assert ring.mac(pin_key_id(old), b"m") is not None
    assert ring.mac("0" * 16, b"m") is None


def test_the_pin_key_file_setting_reaches_child_processes(tmp_path: Path) -> None:
    env = {"PRIVLINE_HOME": str(tmp_path), "PRIVLINE_PIN_KEY_FILE": str(tmp_path / "k")}
    settings = Settings.from_env(env)
    assert settings.pin_key_path == tmp_path / "k"
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}).pin_key_path == \
        tmp_path / "keys" / "pin.key"
