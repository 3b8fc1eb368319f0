"""`privline vault ...`, `privline recordings ...` and `privline user grant|ungrant`.

The operator at the console acts as an administrator. An investigator acts as
themselves by giving their API token in PRIVLINE_TOKEN or a file named by --token-file
(never on the command line, where `ps` would show it); they then reach only the
facilities granted to them.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from privline.bootstrap import Runtime, utcnow
from privline.domain.model import Actor
from privline.domain.vault import Incident
from privline.entrypoints.cli.app import (
    OPERATOR,
    Json,
    app,
    emit,
    fail,
    runtime,
    whole,
)
from privline.entrypoints.cli.users import user_app
from privline.services import recordings, users, vault, vault_lifecycle

vault_app = typer.Typer(help="The encrypted recording vault.", no_args_is_help=True)
recordings_app = typer.Typer(help="Investigators' access to recordings (always with a reason).",
                             no_args_is_help=True)
app.add_typer(vault_app, name="vault")
app.add_typer(recordings_app, name="recordings")

Reason = Annotated[str, typer.Option(help="Why (required; kept in the audit log).")]
TokenFile = Annotated[Path | None, typer.Option(
    help="File holding your API token (or set PRIVLINE_TOKEN); default: the operator.")]


def _actor(rt: Runtime, token_file: Path | None) -> Actor:
    token = rt.settings.api_token or ""
    if token_file is not None:
        token = token_file.read_text(encoding="utf-8").strip()
    return users.authenticate(rt.uow, token, now=rt.clock()) if token else OPERATOR


def _day(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--{name} must be an ISO date or date-time, got {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


@vault_app.command("ingest")
def vault_ingest(
    limit: Annotated[int | None, typer.Option(help="At most this many recordings.",
                                              parser=whole)] = None,
    every: Annotated[float | None, typer.Option(
        help="Keep running: ingest again every this many seconds until stopped.")] = None,
    json_out: Json = False,
) -> None:
    """Move finished recordings from rtpengine's spool into the vault, with the guard."""
    rt = runtime()
    v = rt.vault()
    stop = {"now": False}

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop["now"] = True

    if every is not None:
        signal.signal(signal.SIGTERM, _stop)
    while True:
        report = vault.ingest_all(rt.uow, OPERATOR, v, now=utcnow(), limit=limit)
        if json_out:
            emit(report.as_json())
        else:
            typer.echo(f"stored {len(report.stored)}, already indexed {report.already}, "
                       f"destroyed on arrival {len(report.destroyed)}, held back "
                       f"{len(report.held_back)}, to retry {len(report.retry)}")
        if every is None or stop["now"]:
            return
        deadline = time.monotonic() + max(every, 0.1)
        while time.monotonic() < deadline and not stop["now"]:
            time.sleep(0.1)
        if stop["now"]:
            return


@vault_app.command("sweep")
def vault_sweep(
    orphan_grace_minutes: Annotated[float, typer.Option(
        help="Leave unindexed blobs younger than this (an ingest may be writing).")] = 60,
    json_out: Json = False,
) -> None:
    """Re-check stored recordings against the registry; reconcile blobs with the index."""
    rt = runtime()
    report = vault.sweep(rt.uow, OPERATOR, rt.vault(), now=utcnow(),
                         orphan_grace=timedelta(minutes=orphan_grace_minutes))
    if json_out:
        emit(report.as_json())
    else:
        data = report.as_json()
        typer.echo(f"quarantined {data['recordings_quarantined']}, reclaimed "
                   f"{report.reclaimed_orphans + report.reclaimed_destroyed} blobs, "
                   f"missing blobs {len(report.missing_blobs)}")


@vault_app.command("purge-expired")
def vault_purge(json_out: Json = False) -> None:
    """Destroy recordings past retention, and quarantined ones past their review period
    (none under a legal hold)."""
    rt = runtime()
    report = vault_lifecycle.purge_expired(rt.uow, OPERATOR, rt.vault(), now=utcnow())
    if json_out:
        emit(report.as_json())
    else:
        typer.echo(f"destroyed {len(report.past_retention)} past retention, "
                   f"{len(report.past_review)} after review")


@vault_app.command("destroy")
def vault_destroy(recording: Annotated[int, typer.Option(parser=whole)], reason: Reason,
                  json_out: Json = False) -> None:
    """Destroy a quarantined recording whose review is done (crypto-shredding)."""
    rt = runtime()
    done = vault_lifecycle.destroy_recording(rt.uow, OPERATOR, rt.vault(), recording,
                                             reason=reason, now=utcnow())
    if json_out:
        emit({"id": done.id, "state": done.state.value,
              "destroyed_at": done.destroyed_at.isoformat() if done.destroyed_at else None})
    else:
        typer.echo(f"recording {done.id} destroyed")


@vault_app.command("hold")
def vault_hold(
    recording: Annotated[int, typer.Option(parser=whole)],
    basis: Annotated[str, typer.Option(help="The legal basis, e.g. a case and order.")],
    json_out: Json = False,
) -> None:
    """Place a legal hold: no automatic destruction until it is released."""
    hold = vault_lifecycle.place_hold(runtime().uow, OPERATOR, recording, basis=basis,
                                      now=utcnow())
    if json_out:
        emit({"hold": hold.id, "recording": hold.recording_id, "basis": hold.basis})
    else:
        typer.echo(f"hold {hold.id} on recording {hold.recording_id}")


@vault_app.command("release")
def vault_release(hold: Annotated[int, typer.Option(parser=whole)], reason: Reason,
                  json_out: Json = False) -> None:
    """Release a legal hold."""
    released = vault_lifecycle.release_hold(runtime().uow, OPERATOR, hold, reason=reason,
                                            now=utcnow())
    if json_out:
        emit({"hold": released.id, "recording": released.recording_id, "released": True})
    else:
        typer.echo(f"hold {released.id} released")


@vault_app.command("settings")
def vault_settings(
    facility: Annotated[str, typer.Option()],
    review_days: Annotated[int | None, typer.Option(
        help="Days a quarantined recording waits for review before destruction.",
        parser=whole)] = None,
    retention_days: Annotated[int | None, typer.Option(
        help="Days a recording is kept after its call.", parser=whole)] = None,
    json_out: Json = False,
) -> None:
    """Show or set a facility's review and retention periods."""
    rt = runtime()
    if review_days is None and retention_days is None:
        policy = vault_lifecycle.get_policy(rt.uow, OPERATOR, facility)
    else:
        policy = vault_lifecycle.set_policy(rt.uow, OPERATOR, facility, review_days=review_days,
                                            retention_days=retention_days, now=utcnow())
    if json_out:
        emit({"facility": facility, "review_days": policy.review_days,
              "retention_days": policy.retention_days})
    else:
        typer.echo(f"{facility}: review {policy.review_days} days, "
                   f"retention {policy.retention_days} days")


def _incident_json(i: Incident) -> dict[str, Any]:
    return {"id": i.id, "kind": i.kind.value, "spool_key": i.spool_key,
            "sip_call_id": i.sip_call_id, "facility": i.facility_id, "number": i.number,
            "recordings": i.recordings, "details": i.details,
            "opened_at": i.opened_at.isoformat(),
            "closed_at": i.closed_at.isoformat() if i.closed_at else None}


@vault_app.command("incidents")
def vault_incidents(
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    limit: Annotated[int, typer.Option(parser=whole)] = 100,
    json_out: Json = False,
) -> None:
    """Incidents: recordings destroyed on arrival, quarantined, or held back."""
    found = vault_lifecycle.list_incidents(runtime().uow, OPERATOR, open_only=open_only,
                                           limit=limit)
    if json_out:
        emit({"incidents": [_incident_json(i) for i in found]})
    else:
        for i in found:
            typer.echo(f"{i.id}\t{i.kind}\t{i.facility_id or '-'}\t{i.number or '-'}\t"
                       f"{i.recordings}\t{i.opened_at.isoformat()}")


@recordings_app.command("list")
def recordings_list(
    reason: Reason,
    facility: Annotated[str | None, typer.Option()] = None,
    number: Annotated[str | None, typer.Option(help="Calls to this number.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date-time (UTC if no zone).")] = None,
    until: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(parser=whole)] = 100,
    offset: Annotated[int, typer.Option(parser=whole)] = 0,
    token_file: TokenFile = None,
    json_out: Json = False,
) -> None:
    """List the recordings you may reach."""
    rt = runtime()
    found = recordings.list_recordings(
        rt.uow, _actor(rt, token_file), reason=reason, now=utcnow(), facility_id=facility,
        number=number, since=_day(since, "since"), until=_day(until, "until"), limit=limit,
        offset=offset)
    if json_out:
        emit({"recordings": [r.as_json() for r in found]})
    else:
        for r in found:
            typer.echo(f"{r.id}\t{r.facility_id}\t{r.number}\t{r.call_at.isoformat()}\t"
                       f"{(r.audio_ms or 0) / 1000:.1f}s")


@recordings_app.command("play")
def recordings_play(
    recording_id: Annotated[int, typer.Argument(metavar="ID", parser=whole)],
    reason: Reason,
    out: Annotated[str, typer.Option(help="Write the WAV here; '-' for stdout.")],
    token_file: TokenFile = None,
) -> None:
    """Decrypt one recording to a WAV file (the access is audited first)."""
    rt = runtime()
    wav = recordings.play(rt.uow, _actor(rt, token_file), rt.vault(), recording_id,
                          reason=reason, now=utcnow())
    _write(out, wav)


@recordings_app.command("export")
def recordings_export(
    recording_id: Annotated[int, typer.Argument(metavar="ID", parser=whole)],
    reason: Reason,
    basis_type: Annotated[str, typer.Option(help="warrant, subpoena or court_order")],
    basis_ref: Annotated[str, typer.Option(help="The instrument's reference.")],
    recipient: Annotated[str, typer.Option(help="Who receives the copy.")],
    out: Annotated[str, typer.Option(help="Write the WAV here; '-' for stdout.")],
    token_file: TokenFile = None,
    json_out: Json = False,
) -> None:
    """Disclose a recording outside the platform: needs a legal basis; ledgered."""
    rt = runtime()
    # The file is written (atomically) before the disclosure is ledgered: a path that
    # cannot be written leaves an audit event saying so and no disclosure.
    done = recordings.export(rt.uow, _actor(rt, token_file), rt.vault(), recording_id,
                             reason=reason, basis_type=basis_type, basis_reference=basis_ref,
                             recipient=recipient, now=utcnow(),
                             deliver=lambda wav: _write(out, wav))
    if out == "-":
        return
    if json_out:
        emit({"disclosure": done.disclosure_id, "recording": recording_id,
              "sha256": done.sha256, "out": out})
    else:
        typer.echo(f"disclosure {done.disclosure_id}: {out} sha256 {done.sha256}")


def _write(out: str, data: bytes) -> None:
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(out)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory", out)
    # 0600: this is plaintext audio, handed to the person who asked for it. Written
    # whole beside its name, then renamed: no half-written copy is ever at ``out``.
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


@user_app.command("grant")
def user_grant(user: Annotated[int, typer.Option(help="The user's id.", parser=whole)],
               facility: Annotated[str, typer.Option()], json_out: Json = False) -> None:
    """Let a user (an investigator) reach one facility's recordings."""
    rt = runtime()
    added = recordings.grant_facility(rt.uow, OPERATOR, user_id=user, facility_id=facility,
                                      now=utcnow())
    facilities = sorted(recordings.facilities_of(rt.uow, OPERATOR, user))
    if json_out:
        emit({"user": user, "facilities": facilities, "added": added})
    else:
        typer.echo(f"user {user}: {', '.join(facilities)}")


@user_app.command("ungrant")
def user_ungrant(user: Annotated[int, typer.Option(help="The user's id.", parser=whole)],
                 facility: Annotated[str, typer.Option()], json_out: Json = False) -> None:
    """Take one facility away from a user."""
    rt = runtime()
    removed = recordings.revoke_facility(rt.uow, OPERATOR, user_id=user, facility_id=facility,
                                         now=utcnow())
    facilities = sorted(recordings.facilities_of(rt.uow, OPERATOR, user))
    if json_out:
        emit({"user": user, "facilities": facilities, "removed": removed})
    else:
        typer.echo(f"user {user}: {', '.join(facilities) or 'no facilities'}")
