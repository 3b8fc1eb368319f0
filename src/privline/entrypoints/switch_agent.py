"""The call agent's process: ``python -m privline.entrypoints.switch_agent``.

``switch up`` starts it with ``Settings.child_env()``; it builds its store through the
composition root (so its audit events get the automatic checkpoints) and runs
:func:`privline.adapters.switch.agent.serve`.
"""

from __future__ import annotations

import asyncio
import logging

from privline.adapters.switch.agent import serve
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.records import CallRecords
from privline.bootstrap import bootstrap
from privline.settings import Settings


def build_records(settings: Settings) -> CallRecords:
    """The agent's writer of call records, on the composition root's store. Its commits
    checkpoint SQLite's WAL, so the routing's decisions need not (``WalCheckpoints``)."""
    return CallRecords(bootstrap(settings, call_path=True, checkpoints=True).uow,
                       settings.switch_minute_seconds)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    asyncio.run(serve(SwitchConfig.from_settings(settings), build_records(settings)))


if __name__ == "__main__":
    main()
