"""Bench only: the routing Kamailio loads for bench_switch's "privline" variant, with a
constant "recorded" decision instead of privline's core (the routing's own cost, without
the database). privline itself has no setting that can swap the policy; this module is
named in the bench's own rendered boot script."""

from __future__ import annotations

import importlib
from datetime import datetime
from decimal import Decimal

from privline.adapters.switch.decisions import FacilityInfo, RouteDecision
from privline.entrypoints.kamailio_app import KamailioApp, build_router

NUMBER = "2025550143"


class ConstantDecisions:
    def facility(self, facility_id: str) -> FacilityInfo | None:
        return FacilityInfo(facility_id, "Bench Jail", ("127.0.0.1/32",), 300)

    def decide(self, facility_id: str, resident_id: str, dialled: str, private: bool,
               pin: str | None, now: datetime, call_id: str) -> RouteDecision:
        return RouteDecision("recorded", "standard", (), Decimal("0.12"), 15, "+1" + NUMBER)


def mod_init() -> KamailioApp:
    return KamailioApp(build_router(importlib.import_module("KSR"), ConstantDecisions()))
