"""The switch's pure parts, without daemons: the ng codec, charges, configs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from privline.adapters.switch.brain import FacilityInfo
from privline.adapters.switch.calllog import charge_cents
from privline.adapters.switch.config import SwitchConfig, render_kamailio, render_rtpengine
from privline.adapters.switch.errors import NgError
from privline.adapters.switch.ng import bdecode, bencode
from privline.adapters.switch.recordings import escaped


def test_bencode_round_trip_sorts_keys() -> None:
    msg = {"command": "play media", "call-id": "a@b", "flags": ["all"], "n": 3}
    data = bencode(msg)
    assert data.startswith(b"d7:call-id3:a@b7:command")
    assert bdecode(data) == msg


def test_bdecode_refuses_truncated_input() -> None:
    with pytest.raises(NgError):
        bdecode(b"d6:result2:o")


@pytest.mark.parametrize(("seconds", "rate", "minutes", "cents"), [
    (0, Decimal("0.12"), 0, 0),
    (1, Decimal("0.12"), 1, 12),
    (60, Decimal("0.12"), 1, 12),
    (60.5, Decimal("0.12"), 2, 24),
    (61, Decimal("0.0125"), 2, 2),  # 2.5 cents: rounded down, never above minutes x rate
    (600, Decimal("0"), 10, 0),
])
def test_charge_rounds_minutes_up_and_cents_down(
    seconds: float, rate: Decimal, minutes: int, cents: int,
) -> None:
    assert charge_cents(seconds, rate) == (minutes, cents)


def test_facility_trusts_only_its_phone_ranges() -> None:
    f = FacilityInfo("f1", "Jail", ("127.0.0.1/32", "10.1.0.0/16"))
    assert f.trusts("127.0.0.1") and f.trusts("10.1.2.3")
    assert not f.trusts("127.0.0.2") and not f.trusts("not-an-ip")


def test_rendered_configs_listen_on_loopback_and_record_with_pcap(tmp_path: Path) -> None:
    cfg = SwitchConfig(home=tmp_path, sip_port=15060, ng_port=15061)
    kamailio = render_kamailio(cfg, tmp_path / "boot.py")
    rtpengine = render_rtpengine(cfg)
    assert "listen=udp:127.0.0.1:15060" in kamailio and 'cfgengine "python"' in kamailio
    assert "table = -1" in rtpengine and "recording-method = pcap" in rtpengine
    assert "listen-ng = 127.0.0.1:15061" in rtpengine


def test_spool_names_use_the_url_escaped_call_id() -> None:
    assert escaped("abc-1@privline.test") == "abc-1%40privline.test"
