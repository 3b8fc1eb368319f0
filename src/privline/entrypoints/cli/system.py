"""`privline init`, `privline serve` and `privline call decide` (a what-if decision)."""

from __future__ import annotations

from typing import Annotated

import typer

from privline.bootstrap import utcnow
from privline.domain.policy import CallRequest
from privline.entrypoints.cli.app import (
    OPERATOR,
    Json,
    app,
    emit,
    pin_code,
    runtime,
)
from privline.entrypoints.demo import load_demo
from privline.entrypoints.serialize import decision_json
from privline.services import calls

call_app = typer.Typer(help="Call decisions.", no_args_is_help=True)
app.add_typer(call_app, name="call")


@app.command()
def init(demo: Annotated[bool, typer.Option(help="Add demo data.")] = False) -> None:
    """Create PRIVLINE_HOME and the database schema (safe to run again)."""
    rt = runtime(create=True)
    if demo:
        load_demo(rt, OPERATOR)
    typer.echo(f"privline ready in {rt.settings.home}")


@app.command()
def serve() -> None:
    """Run the HTTP API on PRIVLINE_API_HOST:PRIVLINE_API_PORT (127.0.0.1:8000)."""
    import uvicorn

    from privline.entrypoints.api.app import create_app

    rt = runtime()
    uvicorn.run(create_app(rt), host=rt.settings.api_host, port=rt.settings.api_port,
                log_level="info")


@call_app.command("decide")
def call_decide(
    facility: Annotated[str, typer.Option()],
    resident: Annotated[str, typer.Option()],
    to: Annotated[str, typer.Option(help="The number as dialled.")],
    private: Annotated[bool, typer.Option("--private", help="Ask for a private call.")] = False,
    pin: Annotated[str | None, typer.Option(parser=pin_code)] = None,
    json_out: Json = False,
) -> None:
    """Decide a call as the switch would: private, recorded or denied."""
    decision = calls.decide_call(runtime().uow, OPERATOR,
                                 CallRequest(facility, resident, to, private, pin), now=utcnow())
    if json_out:
        emit(decision_json(decision))
    else:
        typer.echo(f"{decision.mode}: {decision.reason}")
