"""`privline switch up|down|status` and `privline calls list`: typer apps the main CLI
mounts with ``app.add_typer(switch_app, name="switch")`` and ``name="calls"``.

Errors print one line on stderr and exit 2, as every privline command does.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from privline.adapters.switch import process
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.errors import SwitchError
from privline.adapters.switch.shed import shed_total
from privline.entrypoints.calls_json import call_log_json
from privline.entrypoints.cli.app import OPERATOR, Json, emit, fail, more_line, runtime, whole
from privline.services import call_log
from privline.settings import Settings, SettingsError

switch_app = typer.Typer(help="The SIP switch: Kamailio, rtpengine and the call agent.",
                         no_args_is_help=True)
calls_app = typer.Typer(help="Calls: every decision and every refusal.", no_args_is_help=True)



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


@calls_app.command("list")
def calls_list(
    limit: Annotated[int, typer.Option(help="At most this many calls.", parser=whole)] = 100,
    before: Annotated[str | None, typer.Option(
        help="Go on after this cursor (the \"next\" a previous page printed).")] = None,
    facility: Annotated[str | None, typer.Option()] = None,
    resident: Annotated[str | None, typer.Option()] = None,
    number: Annotated[str | None, typer.Option(help="Calls to this number, any format.")
                      ] = None,
    mode: Annotated[str | None, typer.Option(
        help="private, recorded, denied, or refused (before any decision).")] = None,
    since: Annotated[str | None, typer.Option(
        help="ISO date-time with its zone, e.g. 2027-01-31T00:00:00Z.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO date-time with its zone.")] = None,
    json_out: Json = False,
) -> None:
    """Every call, newest first: decided, refused (also before any decision), in
    progress and ended, with why it ended, its warnings, its charge and recording."""
    rt = runtime()
    where = call_log.parse_call_filter(
        facility=facility or "", resident=resident or "", number=number or "",
        mode=mode or "", since=since or "", until=until or "")
    page = call_log.search(rt.uow, OPERATOR, where, limit=limit, before=before)
    out = call_log_json(rt, OPERATOR, page)
    if json_out:
        emit(out)
        return
    if not out["calls"]:
        typer.echo("no calls")
    for c in out["calls"]:
        typer.echo(f"{c['decided_at'] or c['ended_at']}  {c['call_id']}  {c['to']}  "
                   f"{c['mode']}  {c['state']}  {c['end_reason']}  {c['duration_s']}s  "
                   f"${c['charge']}  recording={c['recording']}")
    if page.next is not None:
        more_line(limit, f"--before {page.next}")


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
