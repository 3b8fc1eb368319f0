"""`privline switch up|down|status` and `privline calls list`: typer apps the main CLI
mounts with ``app.add_typer(switch_app, name="switch")`` and ``name="calls"``.

Errors print one line on stderr and exit 2, as every privline command does.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from privline.adapters.switch import process
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.errors import SwitchError
from privline.adapters.switch.recordings import pcap_files
from privline.adapters.switch.shed import shed_total
from privline.domain.model import CallRecord
from privline.entrypoints.cli.app import OPERATOR, emit, fail, runtime
from privline.services.ports.calls import CallRefusal
from privline.settings import Settings, SettingsError

switch_app = typer.Typer(help="The SIP switch: Kamailio, rtpengine and the call agent.",
                         no_args_is_help=True)
calls_app = typer.Typer(help="Calls placed through the switch.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        fail(str(exc))


@switch_app.command("up")
def up(
    foreground: Annotated[bool, typer.Option(
        help="Stay attached; Ctrl-C or SIGTERM brings the switch down.")] = False,
    json_out: Json = False,
) -> None:
    """Render the configs into PRIVLINE_HOME/switch and start the daemons that are not
    running on 127.0.0.1: all of them, or after a crash only the one that died."""
    current = settings()
    cfg = SwitchConfig.from_settings(current)
    try:
        procs = process.up(cfg, current.child_env())
    except SwitchError as exc:
        fail(str(exc))
    info = {p.name: p.pid for p in procs}
    if json_out:
        emit({"started": info, "sip_port": cfg.sip_port, "trunk": cfg.trunk})
    else:
        typer.echo(f"switch up: SIP on 127.0.0.1:{cfg.sip_port}, trunk {cfg.trunk}, "
                   + ", ".join(f"{n} pid {p}" for n, p in info.items()))
    if foreground:
        procs = process.read_state(cfg)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(1.0):
            if not all(p.alive() for p in procs):
                process.down(cfg)
                fail("a switch daemon exited; switch brought down (see switch/logs)")
        process.down(cfg)


@switch_app.command("down")
def down(json_out: Json = False) -> None:
    """Stop exactly the processes `switch up` started."""
    stopped = process.down(SwitchConfig.from_settings(settings()))
    if json_out:
        emit({"stopped": {p.name: p.pid for p in stopped}})
    else:
        typer.echo("switch down" + "".join(f", {p.name} pid {p.pid}" for p in stopped))


@switch_app.command("status")
def status(json_out: Json = False) -> None:
    """Which daemons run and answer (the agent: its heartbeat is fresh), and how many
    call set-ups were refused for overload. Exit 1 when any daemon does not."""
    cfg = SwitchConfig.from_settings(settings())
    state = process.status(cfg)
    healthy = all(v["running"] and v["answers"] for v in state.values())
    shed = shed_total(cfg.shed_dir)
    if json_out:
        emit({"healthy": healthy, "daemons": state, "shed_for_overload": shed})
    else:
        for name, v in state.items():
            typer.echo(f"{name}: {'up' if v['running'] else 'down'}"
                       f"{'' if v['answers'] else ' (not answering)'} pid {v['pid']}")
        typer.echo(f"refused for overload (503): {shed}")
    if not healthy:
        raise SystemExit(1)


def call_state(record: CallRecord) -> str:
    if record.mode == "denied" or record.end_reason == "refused":
        return "refused"
    if record.ended_at is not None:
        return "ended"
    return "in_progress" if record.answered_at is not None else "decided"


def call_json(record: CallRecord, spool: Path, in_vault: bool, ledger_cents: int
              ) -> dict[str, Any]:
    """One call as `calls list --json` prints it; ``recording`` is true when the vault
    holds a recording of it or rtpengine's spool still does; ``ledger_cents`` is what
    the ledger holds charged for it."""
    call_id = record.sip_call_id or f"decision:{record.id}"
    end_reason = record.end_reason
    if record.mode == "denied" and end_reason is None:
        end_reason = "refused"  # a denial is its own end
    return {
        "call_id": call_id, "state": call_state(record), "facility": record.facility_id,
        "resident": record.resident_id, "to": record.number, "mode": record.mode,
        "reason": record.reason, "review": record.review, "max_minutes": record.max_minutes,
        "decided_at": record.at.isoformat(),
        "answered_at": record.answered_at.isoformat() if record.answered_at else None,
        "accepted_at": record.accepted_at.isoformat() if record.accepted_at else None,
        "ended_at": record.ended_at.isoformat() if record.ended_at else None,
        "duration_s": record.duration_s, "rate_per_minute": str(record.rate_per_minute),
        "charge_cents": record.charge_cents, "ledger_cents": ledger_cents,
        "charge": None if record.charge_cents is None else f"{record.charge_cents / 100:.2f}",
        "recording": in_vault or bool(record.sip_call_id
                                      and pcap_files(spool, record.sip_call_id)),
        "warnings": [{"at": w.at.isoformat(), "prompt": w.prompt, "evidence": w.evidence}
                     for w in record.warnings],
        "fault": record.fault, "end_reason": end_reason,
    }


def refusal_json(r: CallRefusal, spool: Path) -> dict[str, Any]:
    """A call refused before any decision, in the same shape."""
    return {
        "call_id": r.sip_call_id, "state": "refused", "facility": r.facility_id,
        "resident": r.resident_id, "to": None, "dialled": r.dialled, "mode": "refused",
        "reason": r.reason, "sip_code": r.sip_code, "review": False, "max_minutes": 0,
        "decided_at": None, "refused_at": r.at.isoformat(), "answered_at": None,
        "accepted_at": None,
        "ended_at": r.at.isoformat(), "duration_s": 0, "rate_per_minute": "0",
        "charge_cents": 0, "ledger_cents": 0, "charge": "0.00",
        "recording": bool(pcap_files(spool, r.sip_call_id)), "warnings": [],
        "fault": None, "end_reason": "refused",
    }


@calls_app.command("list")
def calls_list(
    limit: Annotated[int, typer.Option(help="At most this many calls.")] = 100,
    offset: Annotated[int, typer.Option()] = 0,
    facility: Annotated[str | None, typer.Option()] = None,
    json_out: Json = False,
) -> None:
    """Every call, newest first: decided, refused (also before any decision), in
    progress and ended, with why it ended, its warnings, its charge and recording."""
    from privline.services.call_records import (
        calls_in_vault,
        ledger_charges,
        list_calls,
        list_refusals,
    )
    from privline.services.errors import ServiceError

    if not (1 <= limit <= 10000 and offset >= 0):
        fail("limit must be 1..10000 and offset >= 0")
    page = min(limit + offset, 10000)
    rt = runtime()
    spool = rt.settings.recording_spool
    try:
        # Both lists newest first; the page is taken from their merge.
        records = list_calls(rt.uow, OPERATOR, limit=page, facility_id=facility)
        refusals = list_refusals(rt.uow, OPERATOR, limit=page, facility_id=facility)
        ids = [r.sip_call_id for r in records if r.sip_call_id]
        vaulted = calls_in_vault(rt.uow, OPERATOR, ids)
        ledger = ledger_charges(rt.uow, OPERATOR, ids)
    except ServiceError as exc:
        fail(exc.message)
    rows = [(r.at, call_json(r, spool, r.sip_call_id in vaulted,
                             ledger.get(r.sip_call_id or "", 0))) for r in records]
    rows += [(r.at, refusal_json(r, spool)) for r in refusals]
    rows.sort(key=lambda row: row[0], reverse=True)
    calls = [c for _, c in rows[offset:offset + limit]]
    if json_out:
        emit({"calls": calls})
        return
    for c in calls:
        typer.echo(f"{c['decided_at'] or c['ended_at']}  {c['call_id']}  {c['to']}  "
                   f"{c['mode']}  {c['state']}  {c['end_reason']}  {c['duration_s']}s  "
                   f"${c['charge']}  recording={c['recording']}")


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
