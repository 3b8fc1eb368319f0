"""`privline report compliance|verify|schedule`: signed statements of compliance."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from privline.adapters.db import make_engine, schema_ready
from privline.adapters.db.report_queries import report_reader
from privline.adapters.files import KeyFileError
from privline.adapters.signing import (
    Ed25519Signer,
    fingerprint,
    key_id,
    load_public,
    verifies,
)
from privline.bootstrap import utcnow
from privline.domain.audit_chain import Checkpoint, checkpoint_message
from privline.domain.compliance import canonical_bytes
from privline.entrypoints.cli.app import (
    OPERATOR,
    Json,
    app,
    emit,
    fail,
    runtime,
    whole,
)
from privline.services import compliance
from privline.services.errors import Unavailable
from privline.settings import Settings

report_app = typer.Typer(help="Signed statements of compliance.", no_args_is_help=True)
app.add_typer(report_app, name="report")

STATEMENT, SIGNATURE, PDF = "statement.json", "statement.sig", "statement.pdf"


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _checkpoint_ok(public: Ed25519PublicKey) -> compliance.CheckpointOk:
    def ok(cp: Checkpoint) -> bool:
        return verifies(public, checkpoint_message(cp.seq, cp.hash), cp.signature)

    return ok


@report_app.command("compliance")
def report_compliance(
    period: Annotated[str, typer.Option(help="The half-year, e.g. 2027-H1.")],
    out: Annotated[Path, typer.Option(help="Folder to write the statement into.")],
    facility: Annotated[list[str] | None, typer.Option(
        help="Only this facility (repeat for several); default: every facility.")] = None,
    json_out: Json = False,
) -> None:
    """Write statement.json, statement.sig (Ed25519, the audit log's key) and statement.pdf."""
    from privline.adapters.reports import RenderError, render_pdf

    rt = runtime()
    if rt.signer is None:
        fail("no signing key")
    with _engine(rt.settings.database_url) as engine:
        issued = compliance.issue(report_reader(engine), rt.signer, OPERATOR, period=period,
                                  facility_ids=facility, now=utcnow(), uow_factory=rt.uow,
                                  checkpoint_ok=_checkpoint_ok(rt.signer.public))
    try:
        pdf = render_pdf(issued.statement, issued.body,
                         fingerprint=fingerprint(rt.signer.public))
    except RenderError as exc:
        fail(str(exc))
    with _engine(rt.settings.database_url) as engine:
        number = compliance.next_issue_number(report_reader(engine), OPERATOR,
                                              issued.statement["period"]["label"], utcnow())
    folder = _issue_folder(out, number)
    folder.mkdir(parents=True, exist_ok=True)
    files = {STATEMENT: issued.body, SIGNATURE: issued.signature, PDF: pdf}
    # Every file is written aside first and moved in only once the issue is audited:
    # either the folder holds a whole new statement or it is as it was.
    staged = {name: _stage(folder / name, data) for name, data in files.items()}
    try:
        if any((folder / name).exists() for name in files):
            fail(f"{folder} already holds a signed statement; nothing was overwritten")
        compliance.record_issue(rt.uow, OPERATOR, issued, number=number, folder=str(folder))
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise
    for name, tmp in staged.items():
        os.replace(tmp, folder / name)
    failed = [c["id"] for c in issued.statement["checks"] if not c["ok"]]
    if json_out:
        emit({"out": str(folder), "period": issued.statement["period"]["label"],
              "issue": number, "files": sorted(files), "key_id": rt.signer.key_id,
              "checks_failed": failed})
    else:
        typer.echo(f"statement {issued.statement['period']['label']} issue {number} written "
                   f"to {folder} (signed by key {rt.signer.key_id}); {_tally(issued)}")


def _tally(issued: compliance.Issued) -> str:
    results = [c.get("result", "passed" if c["ok"] else "failed")
               for c in issued.statement["checks"]]
    empty = sum(r.startswith("not applicable") for r in results)
    failed = [c["id"] for c in issued.statement["checks"] if not c["ok"]]
    text = f"{results.count('passed')} checks passed"
    if empty:
        text += f", {empty} not applicable (0 cases)"
    return text + (f"; checks failed: {failed}" if failed else "")


def _issue_folder(out: Path, number: int) -> Path:
    """Signed files are never overwritten: a folder that holds a statement already gets
    the new issue in a numbered subfolder (issue-2, issue-3, ...)."""
    if not (out / STATEMENT).exists():
        return out
    return out / f"issue-{max(number, 2)}"


def _stage(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return tmp


@report_app.command("verify")
def report_verify(
    directory: Annotated[Path, typer.Argument(help="The statement's folder.")],
    pubkey: Annotated[Path | None, typer.Option(
        help="PEM public key; default: this installation's.")] = None,
    json_out: Json = False,
) -> None:
    """Check the signature; where the data can be read, recompute every figure.

    Exit 1 when the signature is bad, a figure differs, or the audit log no longer
    holds what the statement pinned.
    """
    body = (directory / STATEMENT).read_bytes()
    signature = (directory / SIGNATURE).read_bytes()
    settings = Settings.from_env()
    public = _public_key(pubkey, settings)
    result: dict[str, Any] = {"key_id": key_id(public), "signature_ok":
                              verifies(public, body, signature)}
    lines = [f"signature: {'ok' if result['signature_ok'] else 'BAD'} "
             f"(Ed25519, key id {result['key_id']})"]
    try:
        stated = json.loads(body)
        result["canonical"] = canonical_bytes(stated) == body
    except (ValueError, TypeError):
        stated, result["canonical"] = None, False
    if stated is None:
        lines.append("statement.json is not a JSON statement")
    else:
        if not result["canonical"]:
            lines.append("statement.json is not in canonical form")
        named = stated.get("signing", {}).get("key_id")
        if named != result["key_id"]:
            lines.append(f"the statement names key {named}; the key used is {result['key_id']}")
        result["checks_failed"] = [c.get("id") for c in stated.get("checks", [])
                                   if not c.get("ok")]
    recheck = _recheck(settings, stated, public) if stated is not None else None
    result["recomputed"] = recheck is not None
    if recheck is None:
        lines.append("only the signature was checked: no privline data here to recompute "
                     "the figures from")
    else:
        result["differences"] = [{"path": d.path, "stated": d.stated,
                                  "recomputed": d.recomputed} for d in recheck.differences]
        result["audit_problems"] = recheck.audit_problems
        lines.append(f"figures recomputed from the data: "
                     f"{len(recheck.differences)} difference(s)")
        lines += [f"  DIFFERENT {d}" for d in recheck.differences]
        lines += [f"  AUDIT LOG {p}" for p in recheck.audit_problems]
        if not recheck.audit_problems:
            lines.append("audit log: still holds the head the statement pinned, and verifies")
    if stated is not None:
        failed = result["checks_failed"]
        lines.append("the statement reports all checks kept" if not failed else
                     f"the statement itself reports broken promises: {', '.join(failed)}")
    result["ok"] = bool(result["signature_ok"] and result["canonical"]
                        and (recheck is None or recheck.ok))
    if json_out:
        emit(result)
    else:
        lines.append("VERIFIED" if result["ok"] else "FAILED")
        typer.echo("\n".join(lines))
    if not result["ok"]:
        raise typer.Exit(1)


def _public_key(pubkey: Path | None, settings: Settings) -> Ed25519PublicKey:
    if pubkey is not None:
        return load_public(pubkey.read_text(encoding="ascii"))
    try:
        return Ed25519Signer.load(settings.signing_key_path).public
    except KeyFileError:
        fail("no public key: give --pubkey FILE (`privline audit pubkey` prints it)")


def _recheck(settings: Settings, stated: dict[str, Any], public: Ed25519PublicKey
             ) -> compliance.Recheck | None:
    """Recompute from the data, or None when there is no privline data to read."""
    if settings.uses_sqlite and not settings.database_path_exists():
        return None
    with _engine(settings.database_url) as engine:
        try:
            if not schema_ready(engine):
                return None
        except Unavailable:
            return None
        try:
            return compliance.recheck(report_reader(engine), OPERATOR, stated,
                                      checkpoint_ok=_checkpoint_ok(public))
        except DBAPIError as exc:
            fail(f"cannot read the data: {str(exc.orig).splitlines()[0] if exc.orig else exc}")


@report_app.command("schedule")
def report_schedule(
    start: Annotated[str, typer.Option(help="First day covered, e.g. 2027-01-01.")],
    years: Annotated[int, typer.Option(help="How many years of half-yearly statements.",
                                          parser=whole)] = 5,
    json_out: Json = False,
) -> None:
    """List the half-yearly statements: which are issued, due, or not yet due."""
    try:
        first = datetime.fromisoformat(start).replace(tzinfo=UTC)
    except ValueError:
        fail(f"--start must be a date such as 2027-01-01, not {start!r}")
    rt = runtime()
    with _engine(rt.settings.database_url) as engine:
        listed = compliance.statements_issued(report_reader(engine), OPERATOR, first, years,
                                              utcnow())
    if json_out:
        emit({"statements": listed})
        return
    for row in listed:
        when = "".join(f"\n    issue {i['number']} at {i['at']}"
                       + (f" in {i['folder']}" if i["folder"] else "") for i in row["issues"])
        last = (datetime.fromisoformat(row["end"]) - timedelta(days=1)).date()
        typer.echo(f"{row['period']}  {row['start'][:10]} to {last}  {row['status']}{when}")
