"""Session cookies and the secret that signs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from privline.adapters.files import KeyFileError
from privline.entrypoints.web.session import (
    SessionCodec,
    csrf_ok,
    load_or_create_secret,
    load_secret,
    new_session,
)
from privline.settings import Settings

T = 1_800_000_000


def test_a_session_survives_its_cookie_and_nothing_else_does() -> None:
    codec = SessionCodec(b"s" * 32)
    session = new_session(T).replace(signin="ab" * 16, pending=7, pending_until=T + 60,
                                     flash="hello")
    value = codec.encode(session)
    assert codec.decode(value, T + 1) == session
    assert SessionCodec(b"t" * 32).decode(value, T + 1) is None  # another server's secret
    payload, mac = value.split(".")
    assert codec.decode(payload[:-2] + "xx." + mac, T + 1) is None
    assert codec.decode(value, session.expires) is None  # expired
    for junk in ("", ".", "a.b", "é" * 10, "x" * 5000):
        assert codec.decode(junk, T) is None
    assert session.pending_user(T + 59) == 7 and session.pending_user(T + 60) is None


def test_csrf_tokens_differ_per_session_and_must_match() -> None:
    one, two = new_session(T), new_session(T)
    assert one.csrf != two.csrf and len(one.csrf) >= 32
    assert csrf_ok(one, one.csrf)
    assert not csrf_ok(one, two.csrf) and not csrf_ok(one, "")


def test_the_secret_file_is_made_once_with_mode_600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "web-session.key"
    assert load_secret(path) is None
    secret = load_or_create_secret(path)
    assert (path.stat().st_mode & 0o777) == 0o600 and len(secret) == 64
    assert load_or_create_secret(path) == secret
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_secret(path)
    path.chmod(0o600)
    path.write_bytes(b"short")
    with pytest.raises(KeyFileError, match="shorter"):
        load_secret(path)


def test_the_secret_file_can_be_named_in_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path),
                                  "PRIVLINE_WEB_SECRET_FILE": str(tmp_path / "w.key")})
    assert settings.web_secret_path == tmp_path / "w.key"
    assert Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}).web_secret_path == \
        tmp_path / "keys" / "web-session.key"


def test_privline_init_writes_the_web_session_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVLINE_")}
    env["PRIVLINE_HOME"] = str(tmp_path / "home")
    exe = str(Path(sys.executable).with_name("privline"))
    subprocess.run([exe, "init"], env=env, check=True, capture_output=True)
    key = tmp_path / "home" / "keys" / "web-session.key"
    assert (key.stat().st_mode & 0o777) == 0o600
    before = key.read_bytes()
    subprocess.run([exe, "init"], env=env, check=True, capture_output=True)
    assert key.read_bytes() == before  # init again keeps every session valid
