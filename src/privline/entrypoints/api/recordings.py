"""/api/v1/recordings: investigators' access over HTTP, always with a stated reason.

The same services as `privline recordings`: every list, play and export is audited with
its reason; quarantined, destroyed and out-of-scope recordings answer 404 like missing
ones; an export is a disclosure and needs a legal basis.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from privline.bootstrap import utcnow
from privline.entrypoints.api.deps import ActorDep, Limit, Offset, RowId, RuntimeDep, errors
from privline.services import recordings

router = APIRouter(prefix="/api/v1/recordings", tags=["recordings"])
_READ = errors(400, 403, 404)

Reason = Query(min_length=1, max_length=500, description="Why you need this (audited).")


class ExportBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    basis_type: str = Field(max_length=32, description="warrant, subpoena or court_order")
    basis_reference: str = Field(max_length=200)
    recipient: str = Field(max_length=200)


@router.get("", responses=errors(400, 403))
def list_recordings(
    rt: RuntimeDep,
    actor: ActorDep,
    reason: str = Reason,
    facility: str | None = None,
    number: str | None = None,
    since: AwareDatetime | None = None,  # with a zone: a bare date would compare wrongly
    until: AwareDatetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    found = recordings.list_recordings(rt.uow, actor, reason=reason, now=utcnow(),
                                       facility_id=facility, number=number, since=since,
                                       until=until, limit=limit, offset=offset)
    return {"recordings": [v.as_json() for v in found]}


@router.get("/{recording_id}/audio", response_class=Response,
            responses={200: {"content": {"audio/wav": {}}}, **_READ})
def play(recording_id: RowId, rt: RuntimeDep, actor: ActorDep, reason: str = Reason
         ) -> Response:
    wav = recordings.play(rt.uow, actor, rt.vault(), recording_id,
                          reason=reason, now=utcnow())
    return Response(wav, media_type="audio/wav", headers={"Cache-Control": "no-store"})


@router.post("/{recording_id}/export", response_class=Response,
             responses={200: {"content": {"audio/wav": {}}}, **_READ})
def export(recording_id: RowId, body: ExportBody, rt: RuntimeDep, actor: ActorDep) -> Response:
    result = recordings.export(rt.uow, actor, rt.vault(), recording_id,
                               reason=body.reason, basis_type=body.basis_type,
                               basis_reference=body.basis_reference,
                               recipient=body.recipient, now=utcnow())
    return Response(result.wav, media_type="audio/wav", headers={
        "Cache-Control": "no-store", "X-Privline-Disclosure": str(result.disclosure_id),
        "X-Privline-SHA256": result.sha256})
