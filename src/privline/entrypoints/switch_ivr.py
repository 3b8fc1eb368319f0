"""The voice menu's process: ``python -m privline.entrypoints.switch_ivr``.

``switch up`` starts it (when ``PRIVLINE_IVR_PORT`` is not 0) with
``Settings.child_env()``; it builds its store through the composition root and runs
:func:`privline.adapters.switch.ivr.serve`.
"""

from __future__ import annotations

import asyncio
import logging

from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.ivr import serve
from privline.adapters.switch.menu_core import CoreMenu
from privline.bootstrap import bootstrap
from privline.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    asyncio.run(serve(SwitchConfig.from_settings(settings), CoreMenu(bootstrap(settings).uow)))


if __name__ == "__main__":
    main()
