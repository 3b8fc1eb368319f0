"""`privline audit verify|checkpoint|pubkey`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privline.adapters.signing import fingerprint, load_public, verifies
from privline.bootstrap import utcnow
from privline.domain.audit_chain import Checkpoint, checkpoint_message
from privline.entrypoints.cli.app import OPERATOR, app, emit, fail, runtime
from privline.services import audit

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    pubkey: Annotated[Path | None, typer.Option(help="PEM public key to check against; "
                                                     "default: this installation's.")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute the hash chain and check the signed checkpoints. Exit 1 if tampered."""
    rt = runtime()
    if pubkey is not None:
        public = load_public(pubkey.read_text(encoding="ascii"))
    elif rt.signer is not None:
        public = rt.signer.public
    else:
        fail("no public key to check checkpoints with")

    def signature_ok(cp: Checkpoint) -> bool:
        return verifies(public, checkpoint_message(cp.seq, cp.hash), cp.signature)

    verdict = audit.verify(rt.uow, OPERATOR, signature_ok)
    if json_out:
        emit(verdict.as_json())
    elif verdict.ok:
        typer.echo(f"ok: {verdict.entries} entries, {verdict.checkpoints} checkpoints, "
                   f"head {verdict.head_hash}")
    else:
        typer.echo(f"TAMPERED at entry {verdict.first_bad_seq}: {verdict.problem}")
    if not verdict.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Sign the chain's current head."""
    cp = audit.checkpoint(runtime().uow, OPERATOR, now=utcnow())
    if cp is None:
        fail("the audit log is empty: nothing to sign")
    if json_out:
        emit({"seq": cp.seq, "hash": cp.hash, "key_id": cp.key_id,
              "signature": cp.signature.hex()})
    else:
        typer.echo(f"checkpoint at {cp.seq}: {cp.hash}")


@audit_app.command("pubkey")
def audit_pubkey(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the public key that verifies checkpoints and statements (PEM on stdout, its
    fingerprint on stderr: the same one each statement's PDF states)."""
    rt = runtime()
    if rt.signer is None:
        fail("no signing key")
    print_ = fingerprint(rt.signer.public)
    if json_out:
        emit({"pem": rt.signer.public_pem(), "fingerprint": print_,
              "key_id": rt.signer.key_id})
        return
    typer.echo(rt.signer.public_pem(), nl=False)
    typer.echo(f"fingerprint {print_}", err=True)
