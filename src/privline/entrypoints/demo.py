"""Demo data for `privline init --demo`: two facilities, residents, registry entries."""

from __future__ import annotations

import os

from privline.bootstrap import Runtime
from privline.domain.model import Actor, Facility
from privline.domain.rates import FacilityKind
from privline.services import facilities, registry, users
from privline.services.errors import Conflict

DEMO_FACILITIES = (
    Facility("demo-prison", "Demo State Prison", FacilityKind.PRISON, 1200,
             phones=("127.0.0.1/32",)),
    Facility("demo-jail", "Demo County Jail", FacilityKind.JAIL, 300, outside_prefix="9",
             phones=("127.0.0.1/32",)),
)
DEMO_RESIDENTS = (("demo-prison", "R1001", "1234", 2000), ("demo-prison", "R1002", "5678", 0),
                  ("demo-jail", "J2001", "2468", 1000))
DEMO_REGISTRY = (
    ("+14155550142", "attorney", "Ada Counsel", "CA-123456", True),
    ("+12125550199", "physician", "Dr. Ben Heal", "NPI 1234567893", True),
    ("+13105550123", "religious_adviser", "Rev. Cy Faith", "chaplain-77", False),
)


def load_demo(rt: Runtime, actor: Actor) -> None:
    """Add the demo data as ``actor``; running it twice adds nothing new."""
    now = rt.clock()
    try:
        for facility in DEMO_FACILITIES:
            facilities.add_facility(rt.uow, actor, facility, now=now)
    except Conflict:
        return  # already loaded
    for facility_id, resident_id, pin, cents in DEMO_RESIDENTS:
        facilities.add_resident(rt.uow, actor, facility_id=facility_id,
                                resident_id=resident_id, pin=pin,
                                opening_balance_cents=cents, now=now)
    for number, kind, holder, credential, verified in DEMO_REGISTRY:
        registry.add_entry(rt.uow, actor, number=number, kind=kind, holder=holder,
                           credential=credential, verified=verified, now=now)
    token = users.add_user(rt.uow, actor, name="demo-admin", role="admin", now=now).token
    if token is None:  # add_user issues one unless told not to
        raise RuntimeError("no token issued for demo-admin")
    token_file = rt.settings.home / "demo-admin.token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
