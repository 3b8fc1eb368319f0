"""The spoken prompts and their words.

Prompt ids are stable: call records store them as evidence of what was played.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class Prompt(StrEnum):
    RECORDING_WARNING = "recording_warning"
    RECORDING_REMINDER = "recording_reminder"
    PRIVATE_NOTICE = "private_notice"
    PRIVATE_NOT_REGISTERED = "private_not_registered"
    REVIEW_NOTICE = "review_notice"
    RATE = "rate"
    ONE_MINUTE_LEFT = "one_minute_left"
    DENIED = "denied"


def text_of(prompt: Prompt, facility_name: str, rate_per_minute: Decimal) -> str:
    """The words of ``prompt`` for one facility; used to synthesise the audio."""
    cents = (rate_per_minute * 100).normalize()
    words = {
        Prompt.RECORDING_WARNING: (
            f"This call is from {facility_name} and is recorded and may be monitored."
        ),
        Prompt.RECORDING_REMINDER: "Reminder: this call is recorded and may be monitored.",
        Prompt.PRIVATE_NOTICE: "This is a private call. It is not recorded or monitored.",
        Prompt.PRIVATE_NOT_REGISTERED: (
            "This number is not a registered private number. "
            "This call will be recorded. A registration request has been sent to staff."
        ),
        Prompt.REVIEW_NOTICE: "This call is not recorded or monitored.",
        Prompt.RATE: f"This call costs {cents:f} cents per minute.",
        Prompt.ONE_MINUTE_LEFT: "You have one minute remaining.",
        Prompt.DENIED: "This call cannot be completed.",
    }
    return words[prompt]
