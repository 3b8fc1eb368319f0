"""rtpengine's recording spool: finding a call's files (reading a pcap is the vault's
job: :mod:`privline.adapters.vault.pcap`).

With ``recording-method = pcap`` rtpengine writes ``pcaps/<call-id>-<hex>.pcap`` as soon
as recording starts, and a metadata file in ``tmp/`` that moves to ``metadata/`` at
hangup. The Call-ID in the names is URL-escaped.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote


def escaped(call_id: str) -> str:
    return quote(call_id, safe="")


def _ours(name: str, prefix: str) -> bool:
    """rtpengine names a call's files ``<escaped call-id>-<hex>.<ext>``; nothing after
    the prefix has a '-', so call ``a`` never claims the files of call ``a-1``."""
    return name.startswith(prefix) and "-" not in name[len(prefix):]


def _matching(folder: Path, call_id: str) -> list[Path]:
    prefix = escaped(call_id) + "-"
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if _ours(e.name, prefix))
    except FileNotFoundError:
        return []


def has_pcap(spool: Path, call_id: str) -> bool:
    """Whether the call's pcap exists now: one scan of ``pcaps/`` that stops at the
    first match and builds no paths. rtpengine creates the file before it replies to
    an offer with ``record-call=yes``, so this is checked once, right after the reply,
    never waited for. The spool holds only calls in progress (the vault sweeps it)."""
    prefix = escaped(call_id) + "-"
    try:
        with os.scandir(spool / "pcaps") as entries:
            return any(_ours(e.name, prefix) for e in entries)
    except FileNotFoundError:
        return False


def recorded_call_ids(spool: Path) -> set[str]:
    """The escaped Call-IDs that have a pcap now: one directory scan for every call
    being watched, instead of one per call."""
    try:
        with os.scandir(spool / "pcaps") as entries:
            return {e.name.rpartition("-")[0] for e in entries}
    except FileNotFoundError:
        return set()


def pcap_files(spool: Path, call_id: str) -> list[Path]:
    return _matching(spool / "pcaps", call_id)


def metadata_files(spool: Path, call_id: str) -> list[Path]:
    return _matching(spool / "metadata", call_id) + _matching(spool / "tmp", call_id)


def any_files(spool: Path, call_id: str) -> list[Path]:
    return pcap_files(spool, call_id) + metadata_files(spool, call_id)
