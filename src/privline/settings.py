"""Typed settings, read once from the environment.

Every value is parsed and checked when :meth:`Settings.from_env` runs, so a bad value
fails at start with a message naming the variable. Secrets may come from a file named by
``<NAME>_FILE``. Nothing is built at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    sip_port: int = 5060
    sip_trunk: str = "127.0.0.1:5080"
    signing_key_file: Path | None = None
    audit_checkpoint_every: int = 1000
    # The recording vault: master key, rtpengine's recording-dir, the sealed blobs.
    master_key_file: Path | None = None
    recording_dir: Path | None = None
    vault_dir: Path | None = None
    web_secret_file: Path | None = None  # signs the web portal's session cookies

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key_file or self.home / "keys" / "signing.key"

    @property
    def web_secret_path(self) -> Path:
        return self.web_secret_file or self.home / "keys" / "web-session.key"

    @property
    def master_key_path(self) -> Path:
        return self.master_key_file or self.home / "keys" / "master.key"

    @property
    def recording_spool(self) -> Path:
        """rtpengine's recording-dir (the switch renders it at this same default)."""
        return self.recording_dir or self.home / "recordings" / "spool"

    @property
    def vault_path(self) -> Path:
        return self.vault_dir or self.home / "vault"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def database_path_exists(self) -> bool:
        """For SQLite URLs: whether the database file exists already."""
        path = self.database_url.split(":///", 1)[-1]
        return path == ":memory:" or Path(path).exists()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("PRIVLINE_HOME", "./var")).resolve()
        url = _secret(env, "PRIVLINE_DATABASE_URL") or f"sqlite:///{home / 'privline.db'}"
        if not (url.startswith(("sqlite", "postgresql"))):
            raise SettingsError("PRIVLINE_DATABASE_URL must be a sqlite or postgresql URL")
        return cls(
            home=home,
            database_url=url,
            api_host=env.get("PRIVLINE_API_HOST", "127.0.0.1"),
            api_port=_port(env, "PRIVLINE_API_PORT", 8000),
            sip_port=_port(env, "PRIVLINE_SIP_PORT", 5060),
            sip_trunk=_host_port(env, "PRIVLINE_SIP_TRUNK", "127.0.0.1:5080"),
            signing_key_file=Path(env["PRIVLINE_SIGNING_KEY_FILE"])
            if env.get("PRIVLINE_SIGNING_KEY_FILE") else None,
            audit_checkpoint_every=_positive(env, "PRIVLINE_AUDIT_CHECKPOINT_EVERY", 1000),
            master_key_file=_path(env, "PRIVLINE_MASTER_KEY_FILE"),
            recording_dir=_path(env, "PRIVLINE_RECORDING_DIR"),
            vault_dir=_path(env, "PRIVLINE_VAULT_DIR"),
            web_secret_file=_path(env, "PRIVLINE_WEB_SECRET_FILE"),
        )


def _secret(env: Mapping[str, str], name: str) -> str | None:
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc
    return env.get(name) or None


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw).resolve() if raw else None


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"{name} must be a port number, got {raw!r}")
    return int(raw)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def _host_port(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, default)
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name} must be host:port, got {raw!r}")
    return raw
