"""A statement's words: the signing note, the notes on its figures, and its summary.

Plain sentences made from the folded figures; a check with nothing to check is counted
apart from the checks that passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from privline.domain.compliance import NOT_APPLICABLE, Check, count_words
from privline.domain.compliance_rows import AuditAtIssue, Inputs

SIGNING_NOTE = (
    "Signed with Ed25519 by the key that signs this installation's audit-log checkpoints "
    "(`privline audit pubkey` prints its public key). The signature in statement.sig covers "
    "the exact bytes of statement.json, which is canonical JSON (sorted keys, no spaces, "
    "UTF-8). statement.pdf is a rendering for reading and is not signed."
)

NOTES = (
    "A call is one decision the switch logged for a call placed from a facility phone: "
    "recorded, private or denied. A call connected when the called party answered. "
    "Decisions asked for with `call decide` (command line or API) carry no SIP Call-ID: "
    "they are what-if queries and are not counted.",
    "A check with nothing to check (0 cases) is not applicable: it is counted apart from "
    "the checks that passed, and is not a failure.",
    "Privileged at call time: some registry entry for the number was verified at that "
    "moment, by the registry's history in the audit log (entries changed only by "
    "directory imports are judged from their rows).",
    "Recorded calls in the warnings figures are recorded calls that connected; the "
    "evidence of a warning is the switch's record of the media server playing it.",
    "Rates: the highest per-minute rate applied and the highest amount charged per billed "
    "minute, per FCC size tier, beside the cap in force on the call's date; facility "
    "sizes (ADP) are as recorded for the facility when the statement was computed.",
    "Registry: added counts new entries; verified counts entries that became verified, "
    "including those added verified. Directory imports never remove protection: "
    "import_batches counts their runs, the entries they confirmed or re-protected, and "
    "the entries they sent to staff review (deactivated in the directory, or missing "
    "from a complete directory file), which stay protected until staff decide; an entry "
    "staff then revoke is counted as revoked under its kind.",
    "Recording access counts every list, play and export of recordings in the audit log, "
    "refused attempts included.",
    "Incidents: every recorded call to a number privileged at call time is counted; the "
    "first 1,000 are listed one by one with their cause.",
    "Location requests: privline has no feature that locates a called party; the figure "
    "counts audit events of any location.* action, which nothing writes.",
)


def summary(inp: Inputs, total: Mapping[str, Any], found: Sequence[Check],
            audit: AuditAtIssue) -> str:
    """One paragraph in plain words."""
    calls, priv, warn = total["calls"], total["privileged"], total["warnings"]
    modes = calls["by_mode"]
    n_fac = len(inp.facilities)
    as_of = inp.as_of.astimezone(UTC)
    span = inp.period.words() if inp.as_of >= inp.period.end else \
        f"{inp.period.words()} (provisional: figures to {as_of.day} " \
        f"{as_of:%B %Y, %H:%M} UTC)"
    parts = [
        f"From {span}, the {count_words(n_fac, 'facility', 'facilities')} covered logged "
        f"{count_words(calls['total'], 'call')}: {modes['recorded']:,} recorded, "
        f"{modes['private']:,} private and {modes['denied']:,} refused.",
    ]
    if priv["recorded"] == 0:
        parts.append(f"{count_words(priv['calls'], 'call')} went to numbers registered as "
                     "privileged at the time; none of them was recorded.")
    else:
        parts.append(f"{count_words(priv['calls'], 'call')} went to numbers registered as "
                     f"privileged at the time, and {priv['recorded']:,} of them were "
                     "recorded: each is listed as an incident with its cause.")
    parts.append(f"{warn['with_opening_warning']:,} of {warn['recorded_calls']:,} recorded "
                 "calls that connected have evidence of the opening warning.")
    over = [t for t in total["rates"]["tiers"] if not t["within_cap"]]
    parts.append("Every rate charged was within the FCC cap in force" if not over else
                 f"Rates exceeded the cap in {count_words(len(over), 'tier')}")
    fees = total["rates"]["other_fees"]["lines"]
    parts[-1] += ", and no other fee was charged." if fees == 0 else \
        f", and {count_words(fees, 'other fee')} was charged."
    access, disc = total["recording_access"], total["disclosures"]
    parts.append(f"Recordings were accessed {count_words(access['accesses'], 'time')}, "
                 f"{access['with_stated_reason']:,} with a stated reason; "
                 f"{count_words(disc['total'], 'recording')} left the platform, "
                 f"{disc['with_legal_basis']:,} on a named legal basis.")
    parts.append("No feature locates a called party." if total["location_requests"] == 0
                 else "Location requests were recorded.")
    verdict = "verified intact" if audit.verification.get("ok") else "FAILED verification"
    parts.append(f"The audit log ({audit.head_seq:,} entries) {verdict} when this statement "
                 "was issued.")
    parts.append(checks_headline(found))
    return " ".join(parts)


def checks_headline(found: Sequence[Check]) -> str:
    """Passes, checks with nothing to check, and failures, each counted on its own."""
    failed = [c.id for c in found if c.result == "failed"]
    empty = [c.id for c in found if c.result == NOT_APPLICABLE]
    passed = len(found) - len(failed) - len(empty)
    words = [f"{count_words(passed, 'check')} passed"]
    if empty:
        words.append(f"{len(empty)} not applicable (0 cases: {', '.join(empty)})")
    text = "; ".join(words)
    return text + (f". Checks failed: {', '.join(failed)}." if failed else ".")
