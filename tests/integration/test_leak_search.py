"""The crash and vault tests' search for plaintext finds exactly what `sample in data`
finds, for any samples placed anywhere (it looks the data up only every few bytes)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.integration.vault_support import Samples

# A two-letter alphabet: windows repeat, so the search meets false and partial hits.
BYTES = st.binary(max_size=0) | st.lists(st.sampled_from(b"ab"), max_size=200).map(bytes)


@given(data=BYTES, samples=st.lists(st.lists(st.sampled_from(b"ab"), min_size=1, max_size=12)
                                    .map(bytes), min_size=1, max_size=4),
       placed=st.integers(0, 200), which=st.integers(0, 3))
def test_finds_a_sample_exactly_when_the_data_holds_it(data: bytes, samples: list[bytes],
                                                       placed: int, which: int) -> None:
    search = Samples(samples)
    assert search.found_in(data) == any(s in data for s in samples)
    at = min(placed, len(data))
    holding = data[:at] + samples[which % len(samples)] + data[at:]
    assert search.found_in(holding)


def test_an_audio_sample_is_found_at_every_offset_and_only_there() -> None:
    sample = bytes(range(100, 164))
    search = Samples([sample, bytes(range(64))])
    for at in range(70):
        assert search.found_in(b"\xff" * at + sample + b"\xfe" * 5)
        assert not search.found_in(b"\xff" * at + sample[:-1] + b"\xfe" * 5)
