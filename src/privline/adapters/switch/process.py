"""Start and stop the switch daemons: rtpengine, Kamailio and the call agent.

``up`` starts what is not running (after a crash of one daemon, only that one) and
records each PID with its start time (from /proc) in ``switch/run/state.json``;
``down`` signals exactly those processes, and only while /proc still shows the same
process (PID and start time), so a recycled PID or a packaged service is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from privline.adapters.switch.config import (
    KAMAILIO_MEMORY,
    ROUTING_ENTRY,
    SwitchConfig,
    write_configs,
)
from privline.adapters.switch.errors import ConfigError, ProcessError
from privline.adapters.switch.ng import NgClient

NAMES = ("rtpengine", "kamailio", "agent")


@dataclass(frozen=True)
class Proc:
    name: str
    pid: int
    start_ticks: int
    log: str

    def alive(self) -> bool:
        return _start_ticks(self.pid) == self.start_ticks


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":
        return None  # a zombie is gone; nothing to stop
    return int(fields[19])


def _state_path(cfg: SwitchConfig) -> Path:
    return cfg.run_dir / "state.json"


def read_state(cfg: SwitchConfig) -> list[Proc]:
    try:
        raw = json.loads(_state_path(cfg).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Proc(**item) for item in raw]


def _write_state(cfg: SwitchConfig, procs: list[Proc]) -> None:
    path = _state_path(cfg)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([p.__dict__ for p in procs], indent=2), encoding="utf-8")
    tmp.replace(path)


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise ConfigError(f"{name} is not installed (see the README's install commands)")
    return found


def commands(cfg: SwitchConfig, files: Mapping[str, Path]) -> dict[str, list[str]]:
    return {
        "rtpengine": [_binary("rtpengine"), f"--config-file={files['rtpengine']}",
                      "--config-section=rtpengine"],
        "kamailio": [_binary("kamailio"), "-f", str(files["kamailio"]), "-DD", "-E",
                     *KAMAILIO_MEMORY, "-Y", str(cfg.run_dir)],
        "agent": [sys.executable, "-m", "privline.entrypoints.switch_agent"],
        "ivr": [sys.executable, "-m", "privline.entrypoints.switch_ivr"],
        # Moves finished recordings from rtpengine's spool into the encrypted vault while
        # the switch runs, so plaintext never waits in the spool for someone to remember.
        "ingest": [sys.executable, "-m", "privline", "vault", "ingest", "--every", "2"],
    }


def _spawn(name: str, argv: list[str], cfg: SwitchConfig, env: Mapping[str, str]) -> Proc:
    log_path = cfg.dir / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        child = subprocess.Popen(  # noqa: S603 - argv built from fixed binaries
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, close_fds=True, cwd=cfg.run_dir,
        )
    ticks = _start_ticks(child.pid)
    if ticks is None:
        raise ProcessError(f"{name} exited at once; see {log_path}")
    return Proc(name, child.pid, ticks, str(log_path))


def _wait(check: object, proc: Proc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise ProcessError(f"{proc.name} exited during start; see {proc.log}")
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise ProcessError(f"{proc.name} not ready after {timeout}s; see {proc.log}")


def sip_ping(port: int, timeout: float = 0.3) -> bool:
    """An OPTIONS to the proxy answered with 200."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        local = sock.getsockname()[1]
        msg = (
            f"OPTIONS sip:ping@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{time.monotonic_ns()}\r\n"
            f"From: <sip:switch@127.0.0.1>;tag=up\r\nTo: <sip:ping@127.0.0.1>\r\n"
            f"Call-ID: ping-{time.monotonic_ns()}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
            "Max-Forwards: 5\r\nContent-Length: 0\r\n\r\n"
        )
        sock.settimeout(timeout)
        try:
            sock.sendto(msg.encode(), ("127.0.0.1", port))
            return sock.recv(4096).startswith(b"SIP/2.0 200")
        except OSError:
            return False


def agent_alive(cfg: SwitchConfig, stale_s: float = 5.0) -> bool:
    """The agent's heartbeat is fresh (the same test the routing makes per call)."""
    try:
        return cfg.heartbeat.stat().st_mtime > time.time() - stale_s
    except OSError:
        return False


def up(cfg: SwitchConfig, env: Mapping[str, str], timeout: float = 15.0,
       entry: str = ROUTING_ENTRY) -> list[Proc]:
    """Render the configs and start every daemon that is not running: all of them, or
    after a crash only the one that died. ``env`` is the daemons' whole environment
    (``Settings.child_env()``): Kamailio's routing and the agent read their Settings
    back from it. Returns what this call started; on a failure, stops it."""
    running = {p.name: p for p in read_state(cfg) if p.alive()}
    files = write_configs(cfg, entry)
    argv = commands(cfg, files)
    checks = {
        "rtpengine": NgClient("127.0.0.1", cfg.ng_port, timeout=0.2, tries=1).ping,
        "kamailio": lambda: sip_ping(cfg.sip_port),
        "agent": lambda: agent_alive(cfg),
        "ivr": lambda: sip_ping(cfg.ivr_port),
        "ingest": lambda: True,
    }
    # rtpengine before the agent (it asks rtpengine about open calls) and both before
    # Kamailio admits calls.
    names = ["rtpengine", "agent", *(["ivr"] if cfg.ivr_port else []), "kamailio",
             *(["ingest"] if cfg.ingest else [])]
    if all(n in running for n in names):
        raise ProcessError(
            f"switch already running (pids {', '.join(str(p.pid) for p in running.values())})")
    started: list[Proc] = []
    try:
        for name in names:
            if name in running:
                continue
            if name == "agent":
                cfg.heartbeat.unlink(missing_ok=True)  # only the new agent's beat counts
            proc = _spawn(name, argv[name], cfg, env)
            started.append(proc)
            _write_state(cfg, [*running.values(), *started])
            _wait(checks[name], proc, timeout)
    except BaseException:
        stop(started)
        _write_state(cfg, list(running.values()))
        raise
    return started


def stop(procs: list[Proc], timeout: float = 10.0) -> list[Proc]:
    """SIGTERM each still-identical process, then SIGKILL what is left after timeout."""
    live = [p for p in procs if p.alive()]
    for proc in live:
        os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(p.alive() for p in live):
        _reap(live)
        time.sleep(0.05)
    for proc in live:
        if proc.alive():
            os.kill(proc.pid, signal.SIGKILL)
    _reap(live)
    return live


def _reap(procs: list[Proc]) -> None:
    for proc in procs:
        try:
            os.waitpid(proc.pid, os.WNOHANG)
        except ChildProcessError:
            pass  # not our child (started by an earlier `switch up`)


def down(cfg: SwitchConfig) -> list[Proc]:
    # Stop the SIP side first so no call is admitted while media goes away.
    order = {"kamailio": 0, "ivr": 1, "agent": 2, "rtpengine": 3}
    procs = sorted(read_state(cfg), key=lambda p: order.get(p.name, 9))
    stopped = []
    for proc in procs:
        stopped += stop([proc])
    _write_state(cfg, [])
    return stopped


def status(cfg: SwitchConfig) -> dict[str, dict[str, object]]:
    result: dict[str, dict[str, object]] = {}
    procs = {p.name: p for p in read_state(cfg)}
    for name in NAMES:
        proc = procs.get(name)
        result[name] = {
            "running": bool(proc and proc.alive()),
            "pid": proc.pid if proc else None,
            "log": proc.log if proc else None,
        }
    result["rtpengine"]["answers"] = NgClient(
        "127.0.0.1", cfg.ng_port, timeout=0.2, tries=1).ping()
    result["kamailio"]["answers"] = sip_ping(cfg.sip_port)
    result["agent"]["answers"] = agent_alive(cfg)
    if cfg.ivr_port:
        proc = procs.get("ivr")
        result["ivr"] = {"running": bool(proc and proc.alive()),
                         "pid": proc.pid if proc else None,
                         "log": proc.log if proc else None,
                         "answers": sip_ping(cfg.ivr_port)}
    if cfg.ingest:
        proc = procs.get("ingest")
        result["ingest"] = {"running": bool(proc and proc.alive()),
                            "pid": proc.pid if proc else None,
                            "log": proc.log if proc else None,
                            "answers": bool(proc and proc.alive())}
    return result
