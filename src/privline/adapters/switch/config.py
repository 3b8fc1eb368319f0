"""Switch settings and the daemon configs rendered from them into ``PRIVLINE_HOME/switch``.

Everything listens on 127.0.0.1. Every value comes from :class:`privline.settings.Settings`;
Kamailio's embedded Python and the call agent read the same Settings back from the
environment ``switch up`` starts them with (``Settings.child_env()``).
"""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from pathlib import Path

from privline.settings import Settings

KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
# Kamailio's memory: 256 MiB shared, 32 MiB per process, both managed by TLSF. Debian's
# build defaults to "qm", the allocator meant for debugging: under the benchmark's load
# its qm_malloc was 19% of Kamailio's CPU (perf), and TLSF (constant-time) cut Kamailio's
# CPU per call by about 15% (docs/overload.md). The benchmark's native Kamailio runs with
# the same options, so the comparison stays like for like.
KAMAILIO_MEMORY = ("-x", "tlsf", "-m", "256", "-M", "32")


@dataclass(frozen=True)
class SwitchConfig:
    """What the daemons' configs are rendered from: a view of :class:`Settings`, so
    rtpengine's recording-dir is always the spool the vault's ingest reads."""

    home: Path
    recording_dir: Path
    sip_port: int = 5060
    trunk: str = "127.0.0.1:5080"
    ng_port: int = 22223
    # The voice menu (docs/voice-menu.md); ivr_port 0: no voice menu.
    ivr_port: int = 5064
    ivr_media_port: int = 5066
    menu_number: str = "100"  # dialled: the menu asks for the number ("" : off)
    rtp_port_min: int = 30000
    rtp_port_max: int = 40000
    kamailio_children: int = 10
    decision_slots: int = 6
    # Length of a call-timer minute (reminders, max minutes). 60 in service; tests
    # shorten it so a 2-minute limit can be proved in seconds.
    minute_seconds: float = 60.0
    # Run `privline vault ingest --every 2` beside the daemons.
    ingest: bool = True
    python_paths: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> SwitchConfig:
        return cls(
            home=settings.home,
            recording_dir=settings.recording_spool,
            sip_port=settings.sip_port,
            trunk=settings.sip_trunk,
            ng_port=settings.ng_port,
            ivr_port=settings.ivr_port,
            ivr_media_port=settings.ivr_media_port,
            menu_number=settings.menu_number,
            rtp_port_min=settings.rtp_ports[0],
            rtp_port_max=settings.rtp_ports[1],
            kamailio_children=settings.kamailio_children,
            decision_slots=settings.decision_slots,
            minute_seconds=settings.switch_minute_seconds,
            ingest=settings.switch_ingest,
            python_paths=default_python_paths(),
        )

    @property
    def dir(self) -> Path:
        return self.home / "switch"

    @property
    def run_dir(self) -> Path:
        return self.dir / "run"

    @property
    def journal_dir(self) -> Path:
        """The call events Kamailio's workers append and the call agent applies."""
        return self.dir / "journal"

    @property
    def heartbeat(self) -> Path:
        """Touched by the call agent every second; the routing reads its age."""
        return self.run_dir / "agent.alive"

    @property
    def slots_dir(self) -> Path:
        """The decision slots' lock files (overload control, docs/overload.md)."""
        return self.run_dir / "slots"

    @property
    def waiting_room(self) -> int:
        """INVITEs that may wait briefly for a decision slot: every worker not deciding
        but one, which stays free for ACKs, BYEs and 503s (docs/overload.md)."""
        return max(0, self.kamailio_children - self.decision_slots - 1)

    @property
    def shed_dir(self) -> Path:
        """Each worker's count of INVITEs refused for overload."""
        return self.run_dir / "shed"

    @property
    def prompts_dir(self) -> Path:
        return self.home / "prompts"

    @property
    def rpc_socket(self) -> Path:
        return self.run_dir / "kamailio-rpc.sock"

    @property
    def ivr_control(self) -> Path:
        """The voice menu's control socket (adapters/switch/menu_control.py)."""
        return self.run_dir / "ivr-control.sock"


def default_python_paths() -> tuple[str, ...]:
    """Where Kamailio's embedded Python finds privline and its dependencies: this
    interpreter's site-packages (a virtualenv's, with its .pth files) and privline's
    own source folder."""
    source = str(Path(__file__).resolve().parents[3])
    paths = sysconfig.get_paths()
    return tuple(dict.fromkeys([source, paths["purelib"], paths["platlib"]]))


def render_rtpengine(cfg: SwitchConfig) -> str:
    # Each RFC 4733 digit rtpengine sees goes to the voice menu as one JSON datagram.
    dtmf = f"dtmf-log-dest = 127.0.0.1:{cfg.ivr_media_port}\n" if cfg.ivr_port else ""
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
{dtmf}"""


ROUTING_ENTRY = "privline.entrypoints.kamailio_app:mod_init"


def render_boot(cfg: SwitchConfig, entry: str = ROUTING_ENTRY) -> str:
    """The script app_python3 loads: puts privline on the embedded Python's path and
    hands over to ``entry`` (``module:function``), which builds the routing from the
    Settings in Kamailio's environment (``switch up`` starts it with
    ``Settings.child_env()``). The benchmark passes its own entry (a stub decision)."""
    module, _, function = entry.partition(":")
    return f'''"""Rendered by privline switch up; do not edit."""
import site
import sys

for _path in {list(cfg.python_paths)!r}:
    if _path not in sys.path:
        site.addsitedir(_path)

from {module} import {function} as _entry


def mod_init():
    return _entry()
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
loadmodule "auth.so"
loadmodule "dialog.so"
loadmodule "jsonrpcs.so"
loadmodule "rtpengine.so"
loadmodule "app_python3.so"

modparam("jsonrpcs", "transport", 4)
modparam("jsonrpcs", "dgram_socket", "{cfg.rpc_socket}")
modparam("tm", "fr_timer", 10000)
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
# Every reply would otherwise enter Python once more (ksr_reply_route) with nothing to
# decide: the INVITE's replies reach it through t_on_reply, the rest need no Python.
kemi.reply_route_callback="none"
kemi.onsend_route_callback="none"
"""


def write_configs(cfg: SwitchConfig, entry: str = ROUTING_ENTRY) -> dict[str, Path]:
    """Render every file the daemons need; return their paths by name. The files hold
    no secret: the database URL reaches the daemons in their environment only."""
    for folder in (cfg.dir, cfg.run_dir, cfg.journal_dir, cfg.recording_dir,
                   cfg.prompts_dir):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = {
        "boot": cfg.dir / "kamailio_boot.py",
        "kamailio": cfg.dir / "kamailio.cfg",
        "rtpengine": cfg.dir / "rtpengine.conf",
    }
    files["boot"].write_text(render_boot(cfg, entry), encoding="utf-8")
    files["kamailio"].write_text(render_kamailio(cfg, files["boot"]), encoding="utf-8")
    files["rtpengine"].write_text(render_rtpengine(cfg), encoding="utf-8")
    return files
