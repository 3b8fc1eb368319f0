"""`privline vault ...` and `privline recordings ...` as an operator and an investigator
use them: ingest, scoped listing with a reason, play to a file, export with a legal
basis, quarantine when the number is verified, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from privline.adapters.db import make_engine
from privline.adapters.db.engine import SqlUnitOfWork
from privline.adapters.db.tables import vault as v
from privline.domain.access import Role
from privline.domain.model import Actor
from privline.domain.policy import CallRequest
from privline.services import calls
from tests.cli.test_cli import Cli
from tests.integration.vault_support import spool_recording, spool_root

CLINIC = "+13105550177"


def place(db_url: str, sip_call_id: str, to: str) -> None:
    """The switch's part: a recorded call's decision, with its Call-ID."""
    engine = make_engine(db_url)
    try:
        calls.decide_call(lambda: SqlUnitOfWork(engine), Actor("switch", Role.SWITCH),
                          CallRequest("demo-prison", "R1001", to), now=datetime.now(UTC),
                          sip_call_id=sip_call_id)
    finally:
        engine.dispose()


def disclosures(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(v.disclosures)).scalar_one())
    finally:
        engine.dispose()


def as_user(cli: Cli, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return cli.run(*args, PRIVLINE_TOKEN=token)


def test_recordings_from_ingest_to_quarantine_through_the_command(
        cli: Cli, tmp_path: Path, db_url: str) -> None:
    home = tmp_path / "home"
    assert (home / "keys" / "master.key").stat().st_mode & 0o777 == 0o600
    spool = spool_root(home)  # what `privline switch up` makes for rtpengine
    for name, number in (("fam", "+12125550100"), ("clinic", CLINIC)):
        place(db_url, f"{name}@cli", number)
        spool_recording(spool, f"{name}@cli")

    ingested = cli.json("vault", "ingest")
    assert ingested["stored"] == 2 and ingested["retry"] == {}
    family_id, clinic_id = ingested["recording_ids"]

    user = cli.json("user", "add", "--name", "Ivan", "--role", "investigator")
    no_grant = as_user(cli, user["token"], "recordings", "list", "--reason", "case 4", "--json")
    assert json.loads(no_grant.stdout) == {"recordings": []}
    cli.ok("user", "grant", "--user", str(user["id"]), "--facility", "demo-prison")
    listed = json.loads(as_user(cli, user["token"], "recordings", "list", "--reason",
                                "case 4", "--json").stdout)["recordings"]
    assert sorted(r["id"] for r in listed) == [family_id, clinic_id]

    missing_reason = as_user(cli, user["token"], "recordings", "play", str(family_id),
                             "--out", str(tmp_path / "x.wav"))
    assert missing_reason.returncode == 2 and "--reason" in missing_reason.stderr
    wav = tmp_path / "family.wav"
    played = as_user(cli, user["token"], "recordings", "play", str(family_id), "--reason",
                     "case 4", "--out", str(wav))
    assert played.returncode == 0, played.stderr
    assert wav.read_bytes()[:4] == b"RIFF" and os.stat(wav).st_mode & 0o777 == 0o600

    no_basis = as_user(cli, user["token"], "recordings", "export", str(family_id), "--reason",
                       "trial", "--basis-type", "hunch", "--basis-ref", "x", "--recipient",
                       "DA", "--out", str(tmp_path / "e.wav"))
    assert no_basis.returncode == 2 and no_basis.stderr.count("\n") == 1
    assert "legal_basis_required" in no_basis.stderr and not (tmp_path / "e.wav").exists()
    unwritable = as_user(cli, user["token"], "recordings", "export", str(family_id),
                         "--reason", "trial", "--basis-type", "warrant", "--basis-ref",
                         "W-2026-9", "--recipient", "County DA", "--out", "/nonexistent/x.wav")
    assert unwritable.returncode == 2 and unwritable.stderr.count("\n") == 1
    assert "export_failed" in unwritable.stderr
    assert disclosures(db_url) == 0
    exported = json.loads(as_user(
        cli, user["token"], "recordings", "export", str(family_id), "--reason", "trial",
        "--basis-type", "warrant", "--basis-ref", "W-2026-9", "--recipient", "County DA",
        "--out", str(tmp_path / "e.wav"), "--json").stdout)
    assert exported["sha256"] and exported["disclosure"] >= 1

    cli.ok("registry", "add", "--number", "310-555-0177", "--kind", "physician", "--name",
           "Dr. Lee", "--credential", "NPI-77", "--verified")
    hidden = as_user(cli, user["token"], "recordings", "play", str(clinic_id), "--reason",
                     "case 4", "--out", str(tmp_path / "c.wav"))
    absent = as_user(cli, user["token"], "recordings", "play", "999999", "--reason",
                     "case 4", "--out", str(tmp_path / "c.wav"))
    assert hidden.returncode == absent.returncode == 2
    assert hidden.stderr.replace(str(clinic_id), "N") == absent.stderr.replace("999999", "N")
    incidents = cli.json("vault", "incidents")["incidents"]
    assert [(i["kind"], i["number"]) for i in incidents] == [("quarantined_on_verify", CLINIC)]

    hold = cli.json("vault", "hold", "--recording", str(clinic_id), "--basis", "order 12")
    assert hold["recording"] == clinic_id
    assert cli.json("vault", "settings", "--facility", "demo-prison",
                    "--review-days", "0")["review_days"] == 0
    assert cli.json("vault", "purge-expired")["destroyed_after_review"] == 0  # held
    assert cli.json("vault", "sweep")["missing_blobs"] == []
    assert cli.json("audit", "verify")["ok"] is True
