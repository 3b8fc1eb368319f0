"""The access checks every service calls before it reads or changes anything."""

from __future__ import annotations

from privline.domain.access import Action, allowed
from privline.domain.model import Actor
from privline.services.errors import Forbidden


def check_allowed(actor: Actor, action: Action) -> None:
    if not allowed(actor.role, action):
        raise Forbidden(f"role {actor.role} may not {action}")
