"""Auditors at /audit/...: read-only. Statements handed out (download the signed JSON,
its signature, or a PDF of it), the audit log's verification and checkpoints, the
registry's changes and the vault's incidents. Nothing here changes anything.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from privline.adapters.signing import verifies
from privline.domain.access import Action
from privline.domain.audit_chain import Checkpoint, checkpoint_message
from privline.entrypoints.web.gate import console_page, require
from privline.entrypoints.web.render import WebRoute, visit
from privline.services import audit, console, vault_lifecycle
from privline.services.errors import NotFound, Unavailable

router = APIRouter(prefix="/audit", route_class=WebRoute, include_in_schema=False)
PAGE = 100


@router.get("")
def overview(request: Request) -> Response:
    v = visit(request)
    actor = require(v, Action.AUDIT_VERIFY)
    if isinstance(actor, Response):
        return actor
    signer = v.runtime.signer
    if signer is None:
        raise Unavailable("no signing key to check checkpoints with", code="no_signing_key")

    def ok(cp: Checkpoint) -> bool:
        return verifies(signer.public, checkpoint_message(cp.seq, cp.hash), cp.signature)

    verdict = audit.verify(v.runtime.uow, actor, ok)
    return console_page(v, actor, "console/audit.html", verdict=verdict,
                        checkpoints=console.checkpoints(v.runtime.uow, actor),
                        key_id=signer.key_id)


@router.get("/statements")
def statements(request: Request) -> Response:
    v = visit(request)
    actor = require(v, Action.AUDIT_VERIFY)
    if isinstance(actor, Response):
        return actor
    return console_page(v, actor, "console/statements.html",
                        kept=console.statements(v.runtime.uow, actor))


@router.get("/statements/{statement_id}/{name}")
def statement_file(request: Request, statement_id: int, name: str) -> Response:
    v = visit(request)
    actor = require(v, Action.AUDIT_VERIFY)
    if isinstance(actor, Response):
        return actor
    kept = console.statement(v.runtime.uow, actor, statement_id)
    stem = f"statement-{kept.period}-{kept.id}"
    if name == "statement.json":
        body, kind, filename = kept.body, "application/json", f"{stem}.json"
    elif name == "statement.sig":
        body, kind, filename = kept.signature, "application/octet-stream", f"{stem}.sig"
    elif name == "statement.pdf":
        from privline.adapters.reports import render_pdf  # WeasyPrint: loaded on demand

        body, kind = render_pdf(json.loads(kept.body), kept.body), "application/pdf"
        filename = f"{stem}.pdf"
    else:
        raise NotFound("no such file", code="not_found")
    return Response(body, media_type=kind, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


@router.get("/registry")
def registry_changes(request: Request, offset: str = "0") -> Response:
    v = visit(request)
    actor = require(v, Action.REGISTRY_READ)
    if isinstance(actor, Response):
        return actor
    start = min(int(offset), 10**9) if offset.isdigit() and len(offset) < 12 else 0
    found = console.registry_changes(v.runtime.uow, actor, limit=PAGE, offset=start)
    return console_page(v, actor, "console/registry_changes.html", found=found)


@router.get("/incidents")
def incidents(request: Request) -> Response:
    v = visit(request)
    actor = require(v, Action.INCIDENT_READ)
    if isinstance(actor, Response):
        return actor
    found = vault_lifecycle.list_incidents(v.runtime.uow, actor, limit=PAGE)
    return console_page(v, actor, "console/incidents.html", found=found)
