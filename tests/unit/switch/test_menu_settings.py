"""The voice menu's settings: the number that asks for the number to call."""

from __future__ import annotations

from pathlib import Path

import pytest

from privline.adapters.switch.config import SwitchConfig
from privline.settings import Settings, SettingsError


def test_the_menu_number_is_100_by_default_can_be_turned_off_and_reaches_the_menu(
        tmp_path: Path) -> None:
    home = {"PRIVLINE_HOME": str(tmp_path)}
    assert SwitchConfig.from_settings(Settings.from_env(home)).menu_number == "100"
    assert Settings.from_env({**home, "PRIVLINE_MENU_NUMBER": ""}).menu_number == ""
    chosen = Settings.from_env({**home, "PRIVLINE_MENU_NUMBER": "0123"})
    assert Settings.from_env(chosen.to_env()).menu_number == "0123"  # children see it


@pytest.mark.parametrize("value", ["1x", "+100", "1234567890123456", "١٠٠"])
def test_a_menu_number_that_is_not_digits_is_refused_at_start(value: str,
                                                              tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PRIVLINE_MENU_NUMBER"):
        Settings.from_env({"PRIVLINE_HOME": str(tmp_path), "PRIVLINE_MENU_NUMBER": value})
