"""`privline switch up|down|status` and `privline calls list`: typer apps the main CLI
mounts with ``app.add_typer(switch_app, name="switch")`` and ``name="calls"``.

Errors print one line on stderr and exit 2, as every privline command does.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from privline.adapters.switch import process
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.errors import SwitchError
from privline.adapters.switch.recordings import pcap_files
from privline.domain.model import CallRecord
from privline.settings import Settings, SettingsError

switch_app = typer.Typer(help="The SIP switch: Kamailio, rtpengine and the call agent.",
                         no_args_is_help=True)
calls_app = typer.Typer(help="Calls placed through the switch.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"privline: error: {message}", err=True)
    raise SystemExit(2)


def switch_config() -> SwitchConfig:
    """The switch settings: privline's own (home, SIP port, trunk) and the switch's
    PRIVLINE_* extras (ports, RTP range, call-timer minute). The database URL is never
    written to disk: the daemons inherit it from this process's environment."""
    try:
        settings = Settings.from_env()
        return SwitchConfig.from_env(
            settings.home, settings.sip_port, settings.sip_trunk, os.environ,
            {"PRIVLINE_HOME": str(settings.home)},
        )
    except (SettingsError, SwitchError) as exc:
        _fail(str(exc))


def _emit(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, sort_keys=True, default=str))


@switch_app.command("up")
def up(
    foreground: Annotated[bool, typer.Option(
        help="Stay attached; Ctrl-C or SIGTERM brings the switch down.")] = False,
    json_out: Json = False,
) -> None:
    """Render the configs into PRIVLINE_HOME/switch and start the daemons on 127.0.0.1."""
    cfg = switch_config()
    try:
        procs = process.up(cfg)
    except SwitchError as exc:
        _fail(str(exc))
    info = {p.name: p.pid for p in procs}
    if json_out:
        _emit({"started": info, "sip_port": cfg.sip_port, "trunk": cfg.trunk})
    else:
        typer.echo(f"switch up: SIP on 127.0.0.1:{cfg.sip_port}, trunk {cfg.trunk}, "
                   + ", ".join(f"{n} pid {p}" for n, p in info.items()))
    if foreground:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(1.0):
            if not all(p.alive() for p in procs):
                process.down(cfg)
                _fail("a switch daemon exited; switch brought down (see switch/logs)")
        process.down(cfg)


@switch_app.command("down")
def down(json_out: Json = False) -> None:
    """Stop exactly the processes `switch up` started."""
    cfg = switch_config()
    stopped = process.down(cfg)
    if json_out:
        _emit({"stopped": {p.name: p.pid for p in stopped}})
    else:
        typer.echo("switch down" + "".join(f", {p.name} pid {p.pid}" for p in stopped))


@switch_app.command("status")
def status(json_out: Json = False) -> None:
    """Which daemons run and answer. Exit 1 when any does not."""
    cfg = switch_config()
    state = process.status(cfg)
    healthy = all(v["running"] and v["answers"] for v in state.values())
    if json_out:
        _emit({"healthy": healthy, "daemons": state})
    else:
        for name, v in state.items():
            typer.echo(f"{name}: {'up' if v['running'] else 'down'}"
                       f"{'' if v['answers'] else ' (not answering)'} pid {v['pid']}")
    if not healthy:
        raise SystemExit(1)


def call_json(record: CallRecord, spool: Path, in_vault: bool = False) -> dict[str, Any]:
    """One call as `calls list --json` prints it; ``recording`` is true when the vault
    holds a recording of it or rtpengine's spool still does."""
    call_id = record.sip_call_id or f"decision:{record.id}"
    return {
        "call_id": call_id, "facility": record.facility_id, "resident": record.resident_id,
        "to": record.number, "mode": record.mode, "reason": record.reason,
        "review": record.review, "decided_at": record.at.isoformat(),
        "answered_at": record.answered_at.isoformat() if record.answered_at else None,
        "ended_at": record.ended_at.isoformat() if record.ended_at else None,
        "duration_s": record.duration_s, "rate_per_minute": str(record.rate_per_minute),
        "charge_cents": record.charge_cents,
        "charge": None if record.charge_cents is None else f"{record.charge_cents / 100:.2f}",
        "recording": in_vault or bool(record.sip_call_id
                                      and pcap_files(spool, record.sip_call_id)),
        "warnings": [{"at": w.at.isoformat(), "prompt": w.prompt, "evidence": w.evidence}
                     for w in record.warnings],
        "fault": record.fault, "end_reason": record.end_reason,
    }


@calls_app.command("list")
def calls_list(
    limit: Annotated[int, typer.Option(help="At most this many calls.")] = 100,
    offset: Annotated[int, typer.Option()] = 0,
    facility: Annotated[str | None, typer.Option()] = None,
    json_out: Json = False,
) -> None:
    """Calls and their records: mode, warnings played, duration, charge, recording."""
    from privline.bootstrap import bootstrap
    from privline.domain.access import Role
    from privline.domain.model import Actor
    from privline.services.call_records import calls_in_vault, list_calls
    from privline.services.errors import ServiceError

    cfg = switch_config()
    uow, operator = bootstrap().uow, Actor("operator", Role.ADMIN)
    try:
        records = list_calls(uow, operator, limit=limit, offset=offset, facility_id=facility)
        vaulted = calls_in_vault(uow, operator,
                                 [r.sip_call_id for r in records if r.sip_call_id])
    except ServiceError as exc:
        _fail(exc.message)
    calls = [call_json(r, cfg.recording_dir, r.sip_call_id in vaulted) for r in records]
    if json_out:
        _emit({"calls": calls})
        return
    for c in calls:
        typer.echo(f"{c['decided_at']}  {c['call_id']}  {c['to']}  {c['mode']}  "
                   f"{c['duration_s']}s  ${c['charge']}  recording={c['recording']}")


def main() -> None:
    """``python -m privline.entrypoints.switch_cli switch up`` before the main CLI
    mounts these apps."""
    root = typer.Typer(no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False)
    root.add_typer(switch_app, name="switch")
    root.add_typer(calls_app, name="calls")
    root()


if __name__ == "__main__":
    main()
