"""Investigators at /investigate/...: search recordings of calls in their facilities,
play one in the browser after stating a reason, export one with a legal basis.

Everything goes through services/recordings.py, which audits each list, play and export
with its reason in the transaction that reads it. The page for a recording shows nothing
about it before a reason is given, and its audio answers 404 for a quarantined,
destroyed, out-of-scope or missing recording alike: they all look the same. The audio
is decrypted in memory and streamed; nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response

from privline.domain.access import Action
from privline.domain.vault import BasisType
from privline.entrypoints.web.gate import console_page, require, require_form
from privline.entrypoints.web.render import Visit, WebRoute, visit
from privline.services import call_log, recordings
from privline.services.errors import Forbidden, InvalidInput, NotFound
from privline.services.ports.vault import Vault

router = APIRouter(prefix="/investigate", route_class=WebRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]
PAGE = 50
_NO_REASON = "State why you need this (it is kept in the audit log)"


@router.get("")
def search(request: Request, reason: str = "", facility: str = "", resident: str = "",
           number: str = "", since: str = "", until: str = "", searched: str = "",
           offset: str = "0") -> Response:
    v = visit(request)
    actor = require(v, Action.RECORDING_READ)
    if isinstance(actor, Response):
        return actor
    form = {"reason": reason[:500], "facility": facility[:64], "resident": resident[:64],
            "number": number[:64], "since": since[:40], "until": until[:40]}
    errors: dict[str, str] = {}
    found = None
    if searched:
        try:
            # The same rules as the calls page; the form's days are UTC days.
            where = call_log.parse_call_filter(
                facility=form["facility"], resident=form["resident"], number=form["number"],
                since=form["since"], until=form["until"], day_zone=UTC)
            if not reason.strip():
                raise InvalidInput(_NO_REASON, code="reason_required",
                                   fields={"reason": _NO_REASON})
            # Each page is its own audited list, with the reason the query carries.
            found = recordings.search_recordings(
                v.runtime.uow, actor, reason=reason, now=v.now, facility_id=where.facility_id,
                number=where.number, since=where.since, until=where.until, limit=PAGE,
                offset=int(offset) if offset.isdigit() and len(offset) < 10 else 0,
                resident_id=where.resident_id)
        except InvalidInput as exc:
            named = exc.details.get("fields")
            errors = dict(named) if isinstance(named, dict) else {"reason": exc.message}
    query = urlencode({"searched": "1"} | {k: val for k, val in form.items() if val})
    return console_page(v, actor, "console/investigate.html", 400 if errors else 200,
                        form=form, errors=errors, found=found, base=f"/investigate?{query}&")


@router.get("/recordings/{recording_id}")
def recording_page(request: Request, recording_id: int) -> Response:
    v = visit(request)
    actor = require(v, Action.RECORDING_READ)
    if isinstance(actor, Response):
        return actor
    return console_page(v, actor, "console/recording.html", rid=recording_id, errors={},
                        audio=None, bases=[b.value for b in BasisType], form={})


@router.post("/recordings/{recording_id}/play")
def play(request: Request, recording_id: int, csrf_token: Text = "", reason: Text = ""
         ) -> Response:
    checked = require_form(request, csrf_token, Action.RECORDING_READ)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    reason = reason.strip()
    if not reason or len(reason) > 500:
        return console_page(v, actor, "console/recording.html", 400, rid=recording_id,
                            errors={"reason": _NO_REASON}, audio=None, form={},
                            bases=[b.value for b in BasisType])
    # The audio element fetches the sound; that request is the audited play.
    audio = f"/investigate/recordings/{recording_id}/audio?" + urlencode(
        {"reason": reason, "ticket": _ticket(v.session.csrf, recording_id, reason)})
    return console_page(v, actor, "console/recording.html", rid=recording_id, errors={},
                        audio=audio, form={"reason": reason},
                        bases=[b.value for b in BasisType])


def _vault(v: Visit) -> Vault:
    return v.runtime.vault()  # Unavailable (503 page) when the master key is unusable


def _ticket(csrf: str, recording_id: int, reason: str) -> str:
    """What the audio link carries instead of the CSRF token itself (links end up in
    access logs): good only in this session, for this recording and this reason."""
    message = f"{recording_id}\n{reason}".encode()
    return hmac.new(csrf.encode(), message, hashlib.sha256).hexdigest()


@router.get("/recordings/{recording_id}/audio")
def audio(request: Request, recording_id: int, reason: str = "", ticket: str = ""
          ) -> Response:
    v = visit(request)
    actor = require(v, Action.RECORDING_READ)
    if isinstance(actor, Response):
        return actor
    # Only a page this session was shown, after this reason was stated, plays.
    expected = _ticket(v.session.csrf, recording_id, reason)
    if not hmac.compare_digest(expected.encode(), ticket.encode("utf-8", "replace")):
        raise Forbidden("this link has expired; state your reason again", code="csrf")
    wav = recordings.play(v.runtime.uow, actor, _vault(v), recording_id,
                          reason=reason, now=v.now)
    return Response(wav, media_type="audio/wav",
                    headers={"Cache-Control": "no-store",
                             "Content-Disposition": "inline"})


@router.post("/recordings/{recording_id}/export")
def export(request: Request, recording_id: int, csrf_token: Text = "", reason: Text = "",
           basis_type: Text = "", basis_reference: Text = "", recipient: Text = ""
           ) -> Response:
    checked = require_form(request, csrf_token, Action.RECORDING_EXPORT)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    form = {"reason": reason, "basis_type": basis_type, "basis_reference": basis_reference,
            "recipient": recipient}
    errors = {f"export_{k}": "Required for a disclosure" for k, val in form.items()
              if not val.strip()}
    if not errors:
        try:
            result = recordings.export(
                v.runtime.uow, actor, _vault(v), recording_id, reason=reason,
                basis_type=basis_type, basis_reference=basis_reference, recipient=recipient,
                now=v.now)
        except InvalidInput as exc:
            errors = {"export_basis_type" if exc.code == "legal_basis_required"
                      else "export_reason": exc.message}
        except NotFound:
            # The same words and status for missing, quarantined and out of scope.
            return console_page(v, actor, "console/recording.html", 404, rid=recording_id,
                                errors={"export_reason": f"No recording {recording_id}."},
                                audio=None, form=form, bases=[b.value for b in BasisType])
        else:
            return Response(result.wav, media_type="audio/wav", headers={
                "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="recording-{recording_id}.wav"',
                "X-Privline-Disclosure": str(result.disclosure_id),
                "X-Privline-SHA256": result.sha256})
    return console_page(v, actor, "console/recording.html", 400, rid=recording_id,
                        errors=errors, audio=None, form=form,
                        bases=[b.value for b in BasisType])
