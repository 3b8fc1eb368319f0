"""Switch settings and the daemon configs rendered from them into ``PRIVLINE_HOME/switch``.

Everything listens on 127.0.0.1. The routing script and the call agent read the same
``switch.json``, so Kamailio's embedded Python needs nothing from the environment but
the database settings it passes on to privline.
"""

from __future__ import annotations

import json
import sysconfig
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from privline.adapters.switch.errors import ConfigError

KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


@dataclass(frozen=True)
class SwitchConfig:
    home: Path
    sip_port: int = 5060
    trunk: str = "127.0.0.1:5080"
    ng_port: int = 22223
    agent_port: int = 22224
    rtp_port_min: int = 30000
    rtp_port_max: int = 40000
    kamailio_children: int = 8
    # Length of a call-timer minute (reminders, max minutes). 60 in service; tests
    # shorten it so a 2-minute limit can be proved in seconds.
    minute_seconds: float = 60.0
    # Run `privline vault ingest --every 2` beside the daemons (PRIVLINE_SWITCH_INGEST=0
    # turns it off, e.g. for tests that inspect rtpengine's spool themselves).
    ingest: bool = True
    # "module:attr" of the routing's Brain factory; empty means privline's core.
    brain: str = ""
    # Shared by Kamailio and the agent (new at each `switch up`): the agent ignores call
    # events without it, so no other local process can close or bill a call.
    agent_token: str = ""
    python_paths: tuple[str, ...] = ()
    # Passed to Kamailio and the agent so privline finds the same database.
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return self.home / "switch"

    @property
    def run_dir(self) -> Path:
        return self.dir / "run"

    @property
    def recording_dir(self) -> Path:
        return self.home / "recordings" / "spool"

    @property
    def prompts_dir(self) -> Path:
        return self.home / "prompts"

    @property
    def rpc_socket(self) -> Path:
        return self.run_dir / "kamailio-rpc.sock"

    @property
    def json_path(self) -> Path:
        return self.dir / "switch.json"

    @property
    def trunk_host(self) -> str:
        return self.trunk.rpartition(":")[0]

    @property
    def trunk_port(self) -> int:
        return int(self.trunk.rpartition(":")[2])

    @classmethod
    def from_env(
        cls, home: Path, sip_port: int, trunk: str, env: Mapping[str, str],
        passthrough: Mapping[str, str] | None = None,
    ) -> SwitchConfig:
        """Switch settings beside privline's own; names start with ``PRIVLINE_``."""
        low, _, high = env.get("PRIVLINE_RTP_PORTS", "30000-40000").partition("-")
        if not (low.isdigit() and high.isdigit() and 1024 < int(low) < int(high) < 65536):
            raise ConfigError("PRIVLINE_RTP_PORTS must be LOW-HIGH, e.g. 30000-40000")
        try:
            minute = float(env.get("PRIVLINE_SWITCH_MINUTE_SECONDS", "60"))
        except ValueError as exc:
            raise ConfigError("PRIVLINE_SWITCH_MINUTE_SECONDS must be a number") from exc
        if minute <= 0:
            raise ConfigError("PRIVLINE_SWITCH_MINUTE_SECONDS must be positive")
        return cls(
            home=home,
            sip_port=sip_port,
            trunk=trunk,
            ng_port=_port(env, "PRIVLINE_NG_PORT", 22223),
            agent_port=_port(env, "PRIVLINE_AGENT_PORT", 22224),
            rtp_port_min=int(low),
            rtp_port_max=int(high),
            kamailio_children=_port(env, "PRIVLINE_KAMAILIO_CHILDREN", 8),
            minute_seconds=minute,
            ingest=env.get("PRIVLINE_SWITCH_INGEST", "1") != "0",
            python_paths=default_python_paths(),
            env=dict(passthrough or {}),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["home"] = str(self.home)
        data["env"] = dict(self.env)
        data["python_paths"] = list(self.python_paths)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SwitchConfig:
        values = dict(data)
        values["home"] = Path(values["home"])
        values["python_paths"] = tuple(values.get("python_paths", ()))
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> SwitchConfig:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} must be a number below 65536, got {raw!r}")
    return int(raw)


def default_python_paths() -> tuple[str, ...]:
    """Where Kamailio's embedded Python finds privline and its dependencies: this
    interpreter's site-packages (a virtualenv's, with its .pth files) and privline's
    own source folder."""
    source = str(Path(__file__).resolve().parents[3])
    paths = sysconfig.get_paths()
    return tuple(dict.fromkeys([source, paths["purelib"], paths["platlib"]]))


def render_rtpengine(cfg: SwitchConfig) -> str:
    return f"""[rtpengine]
table = -1
interface = 127.0.0.1
listen-ng = 127.0.0.1:{cfg.ng_port}
foreground = true
log-stderr = true
log-level = 5
port-min = {cfg.rtp_port_min}
port-max = {cfg.rtp_port_max}
num-threads = 2
timeout = 60
silent-timeout = 3600
final-timeout = 14400
delete-delay = 0
recording-dir = {cfg.recording_dir}
recording-method = pcap
recording-format = raw
"""


def render_boot(cfg: SwitchConfig) -> str:
    """The script app_python3 loads: puts privline on the embedded Python's path."""
    return f'''"""Rendered by privline switch up; do not edit."""
import site
import sys

for _path in {list(cfg.python_paths)!r}:
    if _path not in sys.path:
        site.addsitedir(_path)

from privline.entrypoints.kamailio_app import mod_init as _mod_init


def mod_init():
    return _mod_init({str(cfg.json_path)!r})
'''


def render_kamailio(cfg: SwitchConfig, boot: Path) -> str:
    return f"""#!KAMAILIO
# Rendered by privline switch up; do not edit.
debug=2
log_stderror=yes
log_prefix="{{$mt $ci}} "
children={cfg.kamailio_children}
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{cfg.sip_port}
alias="127.0.0.1:{cfg.sip_port}"
server_header="Server: privline"
user_agent_header="User-Agent: privline"

mpath="{KAMAILIO_MODULES}/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sdpops.so"
loadmodule "dialog.so"
loadmodule "jsonrpcs.so"
loadmodule "rtpengine.so"
loadmodule "app_python3.so"

modparam("jsonrpcs", "transport", 4)
modparam("jsonrpcs", "dgram_socket", "{cfg.rpc_socket}")
modparam("tm", "fr_timer", 5000)
modparam("tm", "fr_inv_timer", 60000)
modparam("rr", "append_fromtag", 1)
modparam("dialog", "dlg_flag", 4)
modparam("dialog", "default_timeout", 14400)
modparam("dialog", "send_bye", 1)
modparam("dialog", "event_callback", "ksr_dialog_event")
modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:{cfg.ng_port}")
modparam("rtpengine", "rtpengine_tout_ms", 2000)
modparam("app_python3", "load", "{boot}")

cfgengine "python"
"""


def write_configs(cfg: SwitchConfig) -> dict[str, Path]:
    """Render every file the daemons need; return their paths by name."""
    for folder in (cfg.dir, cfg.run_dir, cfg.recording_dir, cfg.prompts_dir):
        folder.mkdir(parents=True, exist_ok=True)
    files = {
        "json": cfg.json_path,
        "boot": cfg.dir / "kamailio_boot.py",
        "kamailio": cfg.dir / "kamailio.cfg",
        "rtpengine": cfg.dir / "rtpengine.conf",
    }
    files["json"].touch(mode=0o600)
    files["json"].chmod(0o600)
    files["json"].write_text(json.dumps(cfg.to_json(), indent=2), encoding="utf-8")
    files["boot"].write_text(render_boot(cfg), encoding="utf-8")
    files["kamailio"].write_text(render_kamailio(cfg, files["boot"]), encoding="utf-8")
    files["rtpengine"].write_text(render_rtpengine(cfg), encoding="utf-8")
    return files
