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
    pin_key_file: Path | None = None  # keys the residents' PIN hashes (adapters/pin_key.py)
    # The switch (Kamailio, rtpengine, the call agent), all on 127.0.0.1.
    ng_port: int = 22223  # rtpengine's ng control port
    # The voice menu for stock phones (docs/voice-menu.md): its SIP port, and the port
    # where rtpengine logs each DTMF digit (also the menu's media sink). 0 turns it off.
    ivr_port: int = 5064
    ivr_media_port: int = 5066
    # The number a stock phone dials to be asked for the number to call (after its PIN),
    # the same at every facility; "" turns it off.
    menu_number: str = "100"
    rtp_ports: tuple[int, int] = (30000, 40000)
    kamailio_children: int = 10  # Kamailio's SIP worker processes
    # Call set-ups decided at once; of the other workers all but one may wait briefly for
    # a slot, the excess gets 503 at once (overload control, docs/overload.md).
    # Default: all but 4.
    decision_slots: int = 6
    # Length of a call-timer minute (reminders, max minutes): 60 in service; tests
    # shorten it so a 2-minute limit can be proved in seconds.
    switch_minute_seconds: float = 60.0
    switch_ingest: bool = True  # run `vault ingest --every 2` beside the switch's daemons
    # The CLI acts as the holder of this API token instead of the console operator.
    api_token: str | None = None
    # Staff web sessions end after this long without a request, and this long after
    # sign-in whatever happens (server-side: signing out ends them at once too).
    session_idle_minutes: int = 30
    session_lifetime_hours: int = 12

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key_file or self.home / "keys" / "signing.key"

    @property
    def web_secret_path(self) -> Path:
        return self.web_secret_file or self.home / "keys" / "web-session.key"

    @property
    def pin_key_path(self) -> Path:
        return self.pin_key_file or self.home / "keys" / "pin.key"

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

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file; None for PostgreSQL or an in-memory database."""
        path = self.database_url.split(":///", 1)[-1]
        return Path(path) if self.uses_sqlite and path != ":memory:" else None

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
        children = _bounded(env, "PRIVLINE_KAMAILIO_CHILDREN", 10, 1, 64)
        return cls(
            home=home,
            database_url=url,
            api_host=env.get("PRIVLINE_API_HOST", "127.0.0.1"),
            api_port=_port(env, "PRIVLINE_API_PORT", 8000),
            sip_port=_port(env, "PRIVLINE_SIP_PORT", 5060),
            sip_trunk=_host_port(env, "PRIVLINE_SIP_TRUNK", "127.0.0.1:5080"),
            signing_key_file=_path(env, "PRIVLINE_SIGNING_KEY_FILE"),
            audit_checkpoint_every=_positive(env, "PRIVLINE_AUDIT_CHECKPOINT_EVERY", 1000),
            master_key_file=_path(env, "PRIVLINE_MASTER_KEY_FILE"),
            recording_dir=_path(env, "PRIVLINE_RECORDING_DIR"),
            vault_dir=_path(env, "PRIVLINE_VAULT_DIR"),
            web_secret_file=_path(env, "PRIVLINE_WEB_SECRET_FILE"),
            pin_key_file=_path(env, "PRIVLINE_PIN_KEY_FILE"),
            ng_port=_port(env, "PRIVLINE_NG_PORT", 22223),
            ivr_port=_bounded(env, "PRIVLINE_IVR_PORT", 5064, 0, 65535),
            ivr_media_port=_port(env, "PRIVLINE_IVR_MEDIA_PORT", 5066),
            menu_number=_digits(env, "PRIVLINE_MENU_NUMBER", "100"),
            rtp_ports=_port_range(env, "PRIVLINE_RTP_PORTS", (30000, 40000)),
            kamailio_children=children,
            decision_slots=_decision_slots(env, children),
            switch_minute_seconds=_seconds(env, "PRIVLINE_SWITCH_MINUTE_SECONDS", 60.0),
            switch_ingest=_flag(env, "PRIVLINE_SWITCH_INGEST", True),
            api_token=_secret(env, "PRIVLINE_TOKEN"),
            session_idle_minutes=_bounded(env, "PRIVLINE_SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
            session_lifetime_hours=_bounded(env, "PRIVLINE_SESSION_LIFETIME_HOURS", 12, 1, 24 * 7),
        )

    def to_env(self) -> dict[str, str]:
        """These settings as the ``PRIVLINE_*`` variables :meth:`from_env` reads back:
        what a child process (Kamailio's embedded Python, the call agent) is started
        with, so every process of the switch opens the same store, keys and spool."""
        env = {
            "PRIVLINE_HOME": str(self.home),
            "PRIVLINE_DATABASE_URL": self.database_url,
            "PRIVLINE_API_HOST": self.api_host,
            "PRIVLINE_API_PORT": str(self.api_port),
            "PRIVLINE_SIP_PORT": str(self.sip_port),
            "PRIVLINE_SIP_TRUNK": self.sip_trunk,
            "PRIVLINE_AUDIT_CHECKPOINT_EVERY": str(self.audit_checkpoint_every),
            "PRIVLINE_NG_PORT": str(self.ng_port),
            "PRIVLINE_IVR_PORT": str(self.ivr_port),
            "PRIVLINE_IVR_MEDIA_PORT": str(self.ivr_media_port),
            "PRIVLINE_MENU_NUMBER": self.menu_number,
            "PRIVLINE_RTP_PORTS": f"{self.rtp_ports[0]}-{self.rtp_ports[1]}",
            "PRIVLINE_KAMAILIO_CHILDREN": str(self.kamailio_children),
            "PRIVLINE_DECISION_SLOTS": str(self.decision_slots),
            "PRIVLINE_SWITCH_MINUTE_SECONDS": repr(self.switch_minute_seconds),
            "PRIVLINE_SWITCH_INGEST": "1" if self.switch_ingest else "0",
            "PRIVLINE_SESSION_IDLE_MINUTES": str(self.session_idle_minutes),
            "PRIVLINE_SESSION_LIFETIME_HOURS": str(self.session_lifetime_hours),
        }
        for name, path in (("PRIVLINE_SIGNING_KEY_FILE", self.signing_key_file),
                           ("PRIVLINE_MASTER_KEY_FILE", self.master_key_file),
                           ("PRIVLINE_RECORDING_DIR", self.recording_dir),
                           ("PRIVLINE_VAULT_DIR", self.vault_dir),
                           ("PRIVLINE_WEB_SECRET_FILE", self.web_secret_file),
                           ("PRIVLINE_PIN_KEY_FILE", self.pin_key_file)):
            if path is not None:
                env[name] = str(path)
        return env

    def child_env(self) -> dict[str, str]:
        """The environment for a daemon this process starts: the inherited one (PATH,
        locale) with every ``PRIVLINE_*`` variable replaced by these settings."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("PRIVLINE_")}
        return {**base, **self.to_env()}


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
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
        raise SettingsError(f"{name} must be a port number, got {raw!r}")
    return int(raw)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise SettingsError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def _host_port(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, default)
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name} must be host:port, got {raw!r}")
    return raw


def _digits(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, default).strip()
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 15):
        raise SettingsError(f"{name} must be up to 15 digits (or empty), got {raw!r}")
    return raw


def _bounded(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def _decision_slots(env: Mapping[str, str], children: int) -> int:
    """Fewer slots than workers, so some worker is always free to shed load and to pass
    ACKs and BYEs on; by default four are left: three may wait for a slot in a burst,
    one stays free (a stateless 503 takes a worker well under a millisecond)."""
    return _bounded(env, "PRIVLINE_DECISION_SLOTS", max(1, children - 4), 1,
                    max(1, children - 1))


def _port_range(env: Mapping[str, str], name: str, default: tuple[int, int]
                ) -> tuple[int, int]:
    raw = env.get(name)
    if raw is None:
        return default
    low, _, high = raw.partition("-")
    if not (low.isascii() and low.isdigit() and high.isascii() and high.isdigit()
            and 1024 < int(low) < int(high) < 65536):
        raise SettingsError(f"{name} must be LOW-HIGH above 1024, e.g. 30000-40000, "
                            f"got {raw!r}")
    return int(low), int(high)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not raw.isascii() or not 0 < value <= 3600:
        raise SettingsError(f"{name} must be a number of seconds above 0, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if raw not in ("0", "1"):
        raise SettingsError(f"{name} must be 0 or 1, got {raw!r}")
    return raw == "1"
