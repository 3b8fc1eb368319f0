"""The switch's pure parts, without daemons: the ng codec, configs, spool names."""

from __future__ import annotations

from pathlib import Path

import pytest

from privline.adapters.switch.config import (
    SwitchConfig,
    render_boot,
    render_kamailio,
    render_rtpengine,
    write_configs,
)
from privline.adapters.switch.decisions import FacilityInfo
from privline.adapters.switch.errors import NgError
from privline.adapters.switch.ng import bdecode, bencode
from privline.adapters.switch.recordings import escaped
from privline.adapters.vault import MasterKey
from privline.adapters.vault.storage import SpoolSource
from privline.bootstrap import open_vault
from privline.settings import Settings


def test_bencode_round_trip_sorts_keys() -> None:
    msg = {"command": "play media", "call-id": "a@b", "flags": ["all"], "n": 3}
    data = bencode(msg)
    assert data.startswith(b"d7:call-id3:a@b7:command")
    assert bdecode(data) == msg


def test_bdecode_refuses_truncated_input() -> None:
    with pytest.raises(NgError):
        bdecode(b"d6:result2:o")


def test_facility_trusts_only_its_phone_ranges() -> None:
    f = FacilityInfo("f1", "Jail", ("127.0.0.1/32", "10.1.0.0/16"))
    assert f.trusts("127.0.0.1") and f.trusts("10.1.2.3")
    assert not f.trusts("127.0.0.2") and not f.trusts("not-an-ip")


def test_rendered_configs_listen_on_loopback_and_record_with_pcap(tmp_path: Path) -> None:
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path), "PRIVLINE_SIP_PORT": "15060",
                                  "PRIVLINE_NG_PORT": "15061",
                                  "PRIVLINE_RTP_PORTS": "31000-31998",
                                  "PRIVLINE_KAMAILIO_CHILDREN": "3"})
    cfg = SwitchConfig.from_settings(settings)
    kamailio = render_kamailio(cfg, tmp_path / "boot.py")
    rtpengine = render_rtpengine(cfg)
    assert "listen=udp:127.0.0.1:15060" in kamailio and 'cfgengine "python"' in kamailio
    assert "children=3" in kamailio
    assert "table = -1" in rtpengine and "recording-method = pcap" in rtpengine
    assert "listen-ng = 127.0.0.1:15061" in rtpengine
    assert "port-min = 31000" in rtpengine and "port-max = 31998" in rtpengine


def test_with_recording_dir_set_rtpengine_writes_where_ingest_reads(tmp_path: Path) -> None:
    """Regression (issue 9): the spool was hard-wired to home/recordings/spool, so with
    PRIVLINE_RECORDING_DIR set plaintext pcaps stayed where ingest never looked."""
    spool = tmp_path / "elsewhere" / "spool"
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path / "home"),
                                  "PRIVLINE_RECORDING_DIR": str(spool)})
    files = write_configs(SwitchConfig.from_settings(settings))
    line = next(x for x in files["rtpengine"].read_text().splitlines()
                if x.startswith("recording-dir"))
    written = Path(line.partition("=")[2].strip())
    assert written == spool and spool.is_dir()
    # The folder `vault ingest` reads, from the vault the composition root builds.
    MasterKey.load_or_create(settings.master_key_path)
    source = open_vault(settings).source
    assert isinstance(source, SpoolSource) and source.held.parent == written


def test_no_rendered_file_holds_the_database_url(tmp_path: Path) -> None:
    secret = "postgresql+psycopg://privline:s3cret@127.0.0.1:5432/privline"
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path),
                                  "PRIVLINE_DATABASE_URL": secret})
    files = write_configs(SwitchConfig.from_settings(settings))
    assert all("s3cret" not in path.read_text() for path in files.values())
    assert "s3cret" in settings.child_env()["PRIVLINE_DATABASE_URL"]  # env only


def test_boot_script_enters_the_routing_named_and_nothing_else(tmp_path: Path) -> None:
    cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))
    assert "from privline.entrypoints.kamailio_app import mod_init as _entry" in render_boot(cfg)
    assert "from bench.boot import make as _entry" in render_boot(cfg, "bench.boot:make")


def test_spool_names_use_the_url_escaped_call_id() -> None:
    assert escaped("abc-1@privline.test") == "abc-1%40privline.test"
