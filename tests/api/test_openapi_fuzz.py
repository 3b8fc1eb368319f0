"""Schemathesis over the OpenAPI spec, in process against the ASGI app, as an admin.

Every operation gets a bounded number of generated requests (valid and invalid), with a
fixed seed; no answer may be a 5xx, an undocumented status, or a body that does not match
what the spec says for that status. The number follows what an operation takes: a few
per input it has, so an operation with one path parameter is not asked 25 times what
the call log's eight filters need 25 draws to vary.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi import checks as oas

from privline.adapters.signing import Ed25519Signer
from privline.adapters.vault import MasterKey
from privline.bootstrap import Runtime, utcnow
from privline.services import users
from privline.services.ports import UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, World
from tests.support.app import app_for

PER_INPUT = 6  # examples per input (a path or query parameter, a body field)
EXAMPLES = 25  # at most, per operation and mode: bounded, so the suite stays quick

# Not negative_data_rejection: like most HTTP APIs this one ignores query parameters it
# does not know (`?limit=5&x=1`), which that check counts as accepting invalid data.
CHECKS: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    oas.status_code_conformance,
    oas.content_type_conformance,
    oas.response_schema_conformance,
]


def examples(operation: schemathesis.APIOperation) -> int:
    body = next(iter(operation.body), None)
    fields = 0 if body is None else len(body.definition.get("schema", {}).get("properties", {}))
    inputs = len(operation.path_parameters) + len(operation.query) + fields
    return min(EXAMPLES, PER_INPUT * max(inputs, 1))


@pytest.fixture
def app(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> FastAPI:
    settings = Settings(home=tmp_path / "home", database_url=db_url)
    MasterKey.load_or_create(settings.master_key_path)  # the vault answers, if empty
    # As bootstrap builds it: the audit log's signing key is there to verify with.
    signer = Ed25519Signer.load_or_create(settings.signing_key_path)
    return app_for(Runtime(settings, uow, signer=signer))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_no_undocumented_answer_on_any_operation(app: FastAPI,
                                                             mode: GenerationMode) -> None:
    token = users.add_user(app.state.runtime.uow, ADMIN, name="fuzz-admin", role="admin",
                           now=utcnow()).token  # the API checks expiry on the real clock
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9  # every /api/v1 route and the health check
    asked: collections.Counter[str] = collections.Counter()

    for operation in operations:
        inputs = (operation.path_parameters, operation.query, operation.body)
        if mode is GenerationMode.NEGATIVE and not any(len(i) for i in inputs):
            continue  # nothing to get wrong (the health check)

        @seed(1207)
        @settings(max_examples=examples(operation), deadline=None, database=None,
                  derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            asked[case.operation.label] += 1
            case.call_and_validate(headers=auth, checks=CHECKS)

        call()
    # Every operation was asked (the health check has nothing to get wrong).
    fuzzed = [o for o in operations if mode is GenerationMode.POSITIVE or
              any(len(i) for i in (o.path_parameters, o.query, o.body))]
    assert {o.label for o in fuzzed} <= set(asked), set(asked)
