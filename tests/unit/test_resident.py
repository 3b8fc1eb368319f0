"""The PIN lockout rule, as a pure function of attempts and time."""

from datetime import UTC, datetime, timedelta

from privline.domain.model import Resident

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_the_fifth_miss_in_a_row_locks_for_ten_minutes_and_a_match_resets() -> None:
    rosa = Resident("R1", "f", "hash")
    for _ in range(4):
        rosa.pin_attempt(False, NOW)
    assert not rosa.locked_at(NOW)
    rosa.pin_attempt(True, NOW)
    assert rosa.failed_pins == 0
    for _ in range(5):
        rosa.pin_attempt(False, NOW)
    assert rosa.locked_at(NOW + timedelta(minutes=9, seconds=59))
    assert not rosa.locked_at(NOW + timedelta(minutes=10))
