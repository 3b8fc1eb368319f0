"""Statements of compliance: a half-year built through the services, then issued, its
figures checked against what was done, and every kind of tampering caught."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select, text

from privline.adapters.db import tables as t
from privline.adapters.db.report_queries import report_reader
from privline.adapters.reports.pdf import render_pdf
from privline.adapters.signing import Ed25519Signer, verifies
from privline.domain.access import Role
from privline.domain.audit_chain import Checkpoint, checkpoint_message
from privline.domain.compliance import canonical_bytes
from privline.domain.model import Actor, Facility
from privline.domain.policy import CallRequest, Mode
from privline.domain.rates import FacilityKind
from privline.domain.registry import Status
from privline.domain.vault import IncidentKind, NewRecording, RecordingState
from privline.services import audit, call_records, calls, compliance, facilities, registry
from privline.services.errors import InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import (
    ADMIN,
    ATTORNEY_NUMBER,
    AUDITOR,
    FAMILY_NUMBER,
    INVESTIGATOR,
    NOW,
    ROSA,
    STAFF,
    World,
)

SWITCH = Actor("switch", Role.SWITCH)
JAIL = Facility("county-jail", "County Jail", FacilityKind.JAIL, 200)
JO = "J2001"  # a resident of the jail, $10.00
BROKE = "R1002"  # a resident of the prison with nothing on her account
NEW_NUMBER = "+13125550177"  # unregistered until staff verify Rosa's request
PERIOD = "2026-H2"
ISSUED = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)  # after the period: a complete statement
SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())


def day(month: int, d: int, hour: int = 10) -> datetime:
    return datetime(2026, month, d, hour, 0, tzinfo=UTC)


def checkpoint_ok(cp: Checkpoint) -> bool:
    return verifies(SIGNER.public, checkpoint_message(cp.seq, cp.hash), cp.signature)


def place(uow: UnitOfWorkFactory, sip: str, facility: str, resident: str, to: str, at: datetime,
          *, private: bool = False, answer: bool = True, warn: bool = True, reminders: int = 0,
          seconds: int = 60) -> Mode:
    """One call through the call path's services: decide, answer, warn, end and bill."""
    mode = calls.decide_call(uow, SWITCH, CallRequest(facility, resident, to,
                                                      private_requested=private),
                             now=at, sip_call_id=sip).mode
    if mode is Mode.DENIED:
        return mode
    answered = at + timedelta(seconds=3)
    if answer:
        call_records.call_answered(uow, SWITCH, sip, at=answered)
        if mode is Mode.RECORDED and warn:
            call_records.warning_played(uow, SWITCH, sip, prompt="recording_warning",
                                        at=answered, evidence={"result": "ok"})
        for i in range(reminders):
            call_records.warning_played(uow, SWITCH, sip, prompt="recording_reminder",
                                        at=answered + timedelta(minutes=5 * (i + 1)),
                                        evidence={"result": "ok"})
    call_records.call_ended(uow, SWITCH, sip, at=answered + timedelta(seconds=seconds),
                            reason="bye" if answer else "486 busy")
    return mode


def pending_entry(uow: UnitOfWorkFactory, number: str) -> int:
    with uow() as u:
        return next(e.id for e in u.registry.entries_for(number) if e.status is Status.PENDING)


@pytest.fixture
def half_year(uow: UnitOfWorkFactory, world: World) -> World:
    """2026-H2 at a prison and a jail: what each test below expects, call by call."""
    facilities.add_facility(uow, ADMIN, JAIL, now=NOW)
    facilities.add_resident(uow, STAFF, facility_id=JAIL.id, resident_id=JO, pin="1357",
                            opening_balance_cents=1000, now=NOW)
    facilities.add_resident(uow, STAFF, facility_id="state-prison", resident_id=BROKE,
                            pin="9753", now=NOW)
    P = "state-prison"
    assert place(uow, "c1", P, ROSA, FAMILY_NUMBER, day(7, 2), reminders=1, seconds=301) \
        is Mode.RECORDED  # 6 minutes at $0.11: 66 cents
    assert place(uow, "c2", P, ROSA, ATTORNEY_NUMBER, day(7, 3), seconds=540) is Mode.PRIVATE
    # Issue 12: what `POST /api/v1/decisions` and `call decide` ask (no SIP Call-ID) is a
    # what-if query: audited, but no call in any figure below.
    for to in (FAMILY_NUMBER, ATTORNEY_NUMBER):
        calls.decide_call(uow, STAFF, CallRequest(P, ROSA, to), now=day(7, 3))
    assert place(uow, "c3", P, ROSA, ATTORNEY_NUMBER, day(7, 4), private=True,
                 answer=False) is Mode.PRIVATE
    # Registry changes by staff: a religious adviser's request refused, a physician
    # verified and later expired.
    adviser = registry.add_entry(uow, STAFF, number="+16175550100", kind="religious_adviser",
                                 holder="Rev. Ola", credential="chap-9", verified=False,
                                 now=day(7, 10))
    registry.change_status(uow, STAFF, adviser.id, Status.REVOKED, now=day(7, 20),
                           note="not a chaplain")
    doctor = registry.add_entry(uow, STAFF, number="+16175550111", kind="physician",
                                holder="Dr. Ida", credential="NPI 1", verified=True,
                                now=day(8, 1), valid_for=timedelta(days=90))
    # Rosa asks for a private call to an unregistered number: recorded, request filed.
    assert place(uow, "c4", P, ROSA, NEW_NUMBER, day(8, 5), private=True) is Mode.RECORDED
    registry.change_status(uow, STAFF, pending_entry(uow, NEW_NUMBER), Status.VERIFIED,
                           now=day(9, 10), kind="physician")
    assert place(uow, "c5", P, ROSA, NEW_NUMBER, day(10, 1)) is Mode.PRIVATE
    assert place(uow, "c6", P, BROKE, FAMILY_NUMBER, day(10, 2)) is Mode.DENIED
    assert place(uow, "c7", JAIL.id, JO, FAMILY_NUMBER, day(10, 3), seconds=120) \
        is Mode.RECORDED  # 2 minutes at $0.13
    assert place(uow, "c8", JAIL.id, JO, FAMILY_NUMBER, day(10, 4), answer=False) \
        is Mode.RECORDED
    registry.change_status(uow, STAFF, world.attorney_entry_id, Status.REVOKED,
                           now=day(11, 1), note="left practice")
    assert place(uow, "c9", P, ROSA, ATTORNEY_NUMBER, day(11, 2), seconds=30) \
        is Mode.RECORDED  # no longer privileged: recorded, 1 minute
    registry.change_status(uow, STAFF, doctor.id, Status.EXPIRED, now=day(12, 1),
                           note="renewal lapsed")
    return world


def issue(engine: Engine, uow: UnitOfWorkFactory, **kw: object) -> compliance.Issued:
    args: dict[str, object] = {"period": PERIOD, "facility_ids": None, "now": ISSUED,
                               "checkpoint_ok": checkpoint_ok} | kw
    return compliance.issue(report_reader(engine), SIGNER, AUDITOR, **args)  # type: ignore[arg-type]


def recheck(engine: Engine, stated: dict) -> compliance.Recheck:  # type: ignore[type-arg]
    return compliance.recheck(report_reader(engine), AUDITOR, stated,
                              checkpoint_ok=checkpoint_ok)


def test_statement_figures_match_what_was_done(engine: Engine, uow: UnitOfWorkFactory,
                                               half_year: World) -> None:
    s = issue(engine, uow).statement
    total = s["total"]
    assert s["period"] == {"label": "2026-H2", "start": "2026-07-01T00:00:00Z",
                           "end": "2027-01-01T00:00:00Z", "as_of": "2027-01-01T00:00:00Z",
                           "complete": True}
    assert total["calls"]["by_mode"] == {"recorded": 5, "private": 3, "denied": 1}
    assert total["calls"]["connected"] == {"recorded": 4, "private": 2}
    assert {m["id"]: (m["recorded"], m["private"], m["denied"])
            for m in total["calls"]["by_month"]} == {
        "2026-07": (1, 2, 0), "2026-08": (1, 0, 0), "2026-09": (0, 0, 0),
        "2026-10": (2, 1, 1), "2026-11": (1, 0, 0), "2026-12": (0, 0, 0)}
    assert total["private_requests"] == {"total": 2, "private": 1, "recorded": 1, "denied": 0}
    # c2, c3 (attorney, verified) and c5 (verified in September); not c4 (before the
    # verification) nor c9 (after the revocation).
    privileged = total["privileged"]
    assert (privileged["calls"], privileged["private"], privileged["recorded"]) == (3, 3, 0)
    assert privileged["incidents"] == []
    assert total["warnings"] == {"recorded_calls": 4, "with_opening_warning": 4,
                                 "reminders_played": 1}
    tiers = {x["tier"]: x for x in total["rates"]["tiers"]}
    assert tiers["prison, any size"] | {"id": None} == {
        "id": None, "tier": "prison, any size", "order": "FCC 2025", "cap": "0.11",
        "from": "2026-07-01", "to": "2026-12-31", "highest_rate": "0.11",
        "highest_charged_per_minute": "0.11", "calls_connected": 5, "within_cap": True}
    assert (tiers["jail, ADP 100 to 349"]["cap"],
            tiers["jail, ADP 100 to 349"]["highest_charged_per_minute"]) == ("0.13", "0.13")
    assert total["rates"]["charged_cents"] == 66 + 11 + 11 + 26
    assert total["rates"]["other_fees"] == {"lines": 0, "cents": 0}
    assert total["location_requests"] == 0
    assert all(c["ok"] for c in s["checks"]), s["checks"]

    by_facility = {f["id"]: f["figures"] for f in s["facilities"]}
    assert by_facility["county-jail"]["calls"]["by_mode"] == {
        "recorded": 2, "private": 0, "denied": 0}
    assert by_facility["state-prison"]["calls"]["total"] == 7
    assert by_facility["county-jail"]["warnings"]["recorded_calls"] == 1

    reg = {r["id"]: r for r in s["registry"]["by_kind_and_source"]}
    assert (reg["attorney|staff"]["added"], reg["attorney|staff"]["verified"],
            reg["attorney|staff"]["revoked"]) == (1, 1, 1)
    assert reg["unspecified|resident_request"]["added"] == 1
    assert reg["physician|resident_request"]["verified"] == 1
    assert (reg["religious_adviser|staff"]["added"],
            reg["religious_adviser|staff"]["revoked"]) == (1, 1)
    assert (reg["physician|staff"]["verified"], reg["physician|staff"]["expired"]) == (1, 1)
    assert s["registry"]["pending"] == {"at_end": 0, "oldest_wait_s": None,
                                        "median_wait_s": None}
    months = {m["id"][:10]: m for m in s["registry"]["by_month"]}
    assert months["2026-08-01"] == {"id": "2026-08-01T00:00:00Z", "protected": 1, "pending": 0}
    assert months["2026-09-01"]["pending"] == 1  # Rosa's request, verified on 10 September
    assert months["2026-10-01"]["protected"] == 3
    assert months["2027-01-01"]["protected"] == 1  # attorney revoked, physician expired

    with engine.connect() as conn:
        in_period = conn.execute(select(func.count()).select_from(t.audit_events)).scalar_one()
    assert s["audit"]["entries_in_period"] == in_period
    assert s["audit"]["at_issue"]["verification"]["ok"] is True
    assert s["audit"]["at_issue"]["head_seq"] == in_period


def test_a_statement_for_one_facility_counts_only_its_calls(
        engine: Engine, uow: UnitOfWorkFactory, half_year: World) -> None:
    s = issue(engine, uow, facility_ids=["county-jail"]).statement
    assert s["scope"] == {"facilities": ["county-jail"], "all_facilities": False}
    assert [f["id"] for f in s["facilities"]] == ["county-jail"]
    assert s["total"]["calls"]["total"] == 2
    with pytest.raises(NotFound):
        issue(engine, uow, facility_ids=["nowhere"])
    with pytest.raises(InvalidInput):
        issue(engine, uow, period="2026-H3")


def test_issued_statement_is_signed_canonical_and_recomputes_exactly(
        engine: Engine, uow: UnitOfWorkFactory, half_year: World) -> None:
    issued = issue(engine, uow)
    assert issued.body == canonical_bytes(json.loads(issued.body))
    assert verifies(SIGNER.public, issued.body, issued.signature)
    compliance.record_issue(uow, AUDITOR, issued)
    # Later activity (a new facility, more calls after the period) changes nothing.
    facilities.add_facility(uow, ADMIN, Facility("new-jail", "New Jail", FacilityKind.JAIL,
                                                 40), now=ISSUED)
    place(uow, "c10", "state-prison", ROSA, FAMILY_NUMBER, ISSUED)
    found = recheck(engine, json.loads(issued.body))
    assert found.ok, (found.differences, found.audit_problems)


def test_an_altered_figure_fails_the_signature_and_the_recomputation(
        engine: Engine, uow: UnitOfWorkFactory, half_year: World) -> None:
    issued = issue(engine, uow)
    stated = json.loads(issued.body)
    stated["total"]["privileged"]["recorded"] = 0
    stated["total"]["calls"]["by_mode"]["recorded"] -= 1
    altered = canonical_bytes(stated)
    assert not verifies(SIGNER.public, altered, issued.signature)
    paths = [d.path for d in recheck(engine, stated).differences]
    assert paths == ["total.calls.by_mode.recorded"]


def test_a_changed_byte_of_the_signature_is_caught(engine: Engine, uow: UnitOfWorkFactory,
                                                   half_year: World) -> None:
    issued = issue(engine, uow)
    for i in (0, 31, 63):
        bad = bytearray(issued.signature)
        bad[i] ^= 0x01
        assert not verifies(SIGNER.public, issued.body, bytes(bad))


def test_a_changed_row_of_the_data_is_caught(engine: Engine, uow: UnitOfWorkFactory,
                                             half_year: World) -> None:
    stated = json.loads(issue(engine, uow).body)
    with engine.begin() as conn:
        conn.execute(text("UPDATE calls SET mode = 'private' WHERE sip_call_id = 'c1'"))
    found = recheck(engine, stated)
    paths = {d.path for d in found.differences}
    assert {"total.calls.by_mode.recorded", "total.calls.by_mode.private",
            "facilities.state-prison.figures.calls.by_mode.recorded"} <= paths
    # The data change went around the services: the audit log itself is intact.
    assert found.audit_problems == []


def test_an_edited_audit_entry_is_caught(engine: Engine, uow: UnitOfWorkFactory,
                                         half_year: World) -> None:
    stated = json.loads(issue(engine, uow).body)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'nobody' WHERE seq = 3"))
    problems = recheck(engine, stated).audit_problems
    assert problems and "no longer verifies" in problems[0]


def test_a_recorded_call_to_a_privileged_number_is_an_incident_with_its_cause(
        engine: Engine, uow: UnitOfWorkFactory, world: World) -> None:
    # What Securus called a software error: the decision recorded a registered number.
    place(uow, "ok-1", "state-prison", ROSA, ATTORNEY_NUMBER, day(7, 2))
    place(uow, "bug-1", "state-prison", ROSA, FAMILY_NUMBER, day(7, 3))
    with engine.begin() as conn:
        conn.execute(text("UPDATE calls SET number = :n WHERE sip_call_id = 'bug-1'"),
                     {"n": ATTORNEY_NUMBER})
    s = issue(engine, uow).statement
    privileged = s["total"]["privileged"]
    assert (privileged["calls"], privileged["recorded"]) == (2, 1)
    [incident] = privileged["incidents"]
    assert incident["facility"] == "state-prison" and incident["number"] == ATTORNEY_NUMBER
    assert "did not find the number privileged" in incident["cause"]
    assert "no recording of it reached the vault" in incident["cause"]
    failed = [c["id"] for c in s["checks"] if not c["ok"]]
    assert failed == ["privileged_calls_not_recorded"]
    assert "1 of them were recorded" in s["summary"]


def test_a_recorded_call_without_warning_evidence_fails_its_check(
        engine: Engine, uow: UnitOfWorkFactory, world: World) -> None:
    place(uow, "w-1", "state-prison", ROSA, FAMILY_NUMBER, day(7, 2))
    place(uow, "w-2", "state-prison", ROSA, FAMILY_NUMBER, day(7, 3), warn=False)
    s = issue(engine, uow).statement
    assert s["total"]["warnings"] == {"recorded_calls": 2, "with_opening_warning": 1,
                                      "reminders_played": 0}
    assert [c["id"] for c in s["checks"] if not c["ok"]] == ["recorded_calls_warned"]


def test_vault_figures_access_and_disclosures(engine: Engine, uow: UnitOfWorkFactory,
                                              world: World) -> None:
    at = day(8, 1)
    with uow() as u:
        def recording(key: str, state: RecordingState, reason: str | None = None) -> int:
            return u.recordings.add(NewRecording(
                key, f"sip-{key}", None, "state-prison", ROSA, FAMILY_NUMBER, at, state,
                None if state is RecordingState.DESTROYED else f"blob-{key}",
                None if state is RecordingState.DESTROYED else b"k", "m1", 1000, 16000, 2,
                destroyed_reason=reason), at)
        u.incidents.open(IncidentKind.PRIVILEGED_ON_ARRIVAL, at=at, recordings=1, details={},
                         facility_id="state-prison")
        recording("a", RecordingState.DESTROYED, "privileged_on_arrival")
        kept = recording("b", RecordingState.STORED)
        u.holds.place(kept, "grand jury subpoena 7", "alice", at)
        u.disclosures.add(kept, "investigator:ivan", "warrant", "W-2026-11", "DA office",
                          "case 12", "0" * 64, at)
        audit.record(u, INVESTIGATOR, "recording.play", f"recording:{kept}", at,
                     reason="case 12", outcome="ok", facility="state-prison")
        audit.record(u, INVESTIGATOR, "recording.list", "recordings", at, reason="case 12",
                     facility=None)
        u.commit()
    s = issue(engine, uow).statement
    vault = s["total"]["vault"]
    assert (vault["ingest_guard_catches"], vault["destroyed"]["total"],
            vault["legal_holds"]["placed"], vault["legal_holds"]["active_at_end"]) == (1, 1, 1, 1)
    assert vault["destroyed"]["by_reason"] == {"privileged_on_arrival": 1}
    access = s["total"]["recording_access"]
    assert (access["accesses"], access["with_stated_reason"]) == (2, 2)
    assert access["by_role"][0]["id"] == "investigator"
    prison = next(f for f in s["facilities"] if f["id"] == "state-prison")["figures"]
    assert prison["recording_access"]["accesses"] == 1  # the list named no facility
    disclosures = s["total"]["disclosures"]
    assert (disclosures["total"], disclosures["with_legal_basis"]) == (1, 1)
    assert disclosures["list"][0]["basis_type"] == "warrant"
    assert all(c["ok"] for c in s["checks"])


def test_the_pdf_keeps_table_headers_with_their_rows_and_page_one_says_the_result(
        engine: Engine, uow: UnitOfWorkFactory, half_year: World, tmp_path: Path) -> None:
    """Issue 12: headers detached from their columns; a mostly blank first page."""
    issued = issue(engine, uow)
    stated = json.loads(issued.body)
    # A table long enough to run over several pages.
    stated["total"]["disclosures"]["list"] = [
        {"id": str(i), "at": "2026-08-01T10:00:00+00:00", "facility": "state-prison",
         "basis_type": "court_order", "basis_reference": f"ROW-{i:03d}",
         "recipient": "County DA"} for i in range(1, 121)]
    path = tmp_path / "statement.pdf"
    path.write_bytes(render_pdf(stated, issued.body))
    pages = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                           capture_output=True, text=True).stdout.split("\f")

    words = " ".join(stated["summary"].split()[:6])
    assert words in " ".join(pages[0].split()), "page one does not say the result"
    reached = [p for p in pages if "ROW-" in p]
    assert len(reached) >= 3
    for page in reached:
        lines = [line for line in page.splitlines() if line.strip()]
        header = [i for i, line in enumerate(lines) if "Legal basis" in line
                  and "Recipient" in line]
        first_row = next(i for i, line in enumerate(lines) if "ROW-" in line)
        # The header repeats on every page the table reaches, above its rows.
        assert header and header[0] < first_row, page[:400]
    for page in pages:
        lines = [line for line in page.splitlines() if line.strip()]
        for i, line in enumerate(lines):
            if "Legal basis" in line and "Recipient" in line:
                # Never a header alone at the foot of a page.
                assert any("ROW-" in later for later in lines[i + 1:]), page[-400:]
