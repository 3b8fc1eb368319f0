"""The API and portal app for in-process tests: built once per test process, handed each
test's runtime.

FastAPI prepares each route (its dependencies and pydantic fields) the first time an app
instance routes a request to it: 0.2-0.3 s of CPU for the first page of every new app,
which a suite making an app per test paid a few hundred times. Everything an app keeps
about its deployment lives in ``app.state`` (the runtime, which routes and the bearer
middleware read per request; the session codec and the registration limits made from
it), so a new runtime gets a fresh state: a test sees a server of its own, as before.
Two clients of the same runtime share one server, as two browsers would.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import State

from privline.bootstrap import Runtime
from privline.entrypoints.api.app import create_app

_app: FastAPI | None = None
_built: dict[str, object] = {}  # the state as create_app left it


def app_for(rt: Runtime) -> FastAPI:
    global _app
    if _app is None:
        _app = create_app(rt)
        _built.update(_app.state._state)
    elif _app.state.runtime is not rt:
        _app.state = State({**_built, "runtime": rt})
    return _app
