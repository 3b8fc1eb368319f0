"""Write large synthetic files shaped like the CMS NPPES dissemination files.

Every one of the 330 published columns (V2 layout) is present in its published order,
every field quoted, with a mix of rows like the real file's: organisations, deactivated
NPIs (NPI and date only), and individuals across in-scope and out-of-scope taxonomies.
All data is invented; NPIs carry valid check digits.

    python bench/gen_nppes.py OUT.csv --rows 1000000 [--locations PL.csv] [--seed 7]

Never commit a generated file: write it to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the layouts

from tests.support.nppes_layout import (  # noqa: E402
    NPPES_MAIN_HEADER_V2,
    NPPES_PRACTICE_LOCATION_HEADER,
)

# The published V2 header, all 330 names written out in privline's layout module (one
# list for the tests, this generator and anyone reading the parser).
HEADER: tuple[str, ...] = NPPES_MAIN_HEADER_V2

_COL = {name: i for i, name in enumerate(HEADER)}
_TAIL_START = _COL["Other Provider Identifier_1"]  # everything after is rarely filled

# (taxonomy code, weight) for individuals; in scope by default: 207*, 208*, 103T*,
# 101Y*, 104100000X, 1041C0700X, 363L*.
_INDIVIDUAL_TAXONOMIES: Sequence[tuple[str, int]] = (
    ("207Q00000X", 60), ("207R00000X", 70), ("208000000X", 30), ("207P00000X", 20),
    ("2084P0800X", 20), ("208D00000X", 10), ("207V00000X", 15), ("2085R0202X", 12),
    ("363L00000X", 40), ("363LF0000X", 40), ("363LP0808X", 10),
    ("103T00000X", 15), ("103TC0700X", 15), ("101YM0800X", 25), ("101YP2500X", 10),
    ("104100000X", 10), ("1041C0700X", 40),
    # out of scope
    ("163W00000X", 90), ("1223G0001X", 50), ("183500000X", 45), ("225100000X", 40),
    ("363A00000X", 35), ("367500000X", 15), ("111N00000X", 15), ("152W00000X", 12),
    ("225X00000X", 15), ("235Z00000X", 12), ("133V00000X", 8), ("106H00000X", 15),
)
_ORG_TAXONOMIES = ("261QM0801X", "333600000X", "282N00000X", "251E00000X", "193200000X",
                   "261Q00000X", "3336C0003X", "291U00000X")
_STATES = ("CA", "NY", "TX", "FL", "IL", "PA", "OH", "GA", "NC", "MI", "WA", "AZ", "MA")
_LAST = ("SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS",
         "RODRIGUEZ", "MARTINEZ", "HERNANDEZ", "LOPEZ", "NGUYEN", "KIM", "PATEL", "O'BRIEN")
_FIRST = ("JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA",
          "DAVID", "ELIZABETH", "WEI", "AISHA", "CARLOS", "PRIYA", "FATIMA", "OLUWASEUN")
_CREDENTIALS = ("MD", "M.D.", "DO", "NP", "FNP-C", "LCSW", "PHD", "PSYD", "LPC", "RN", "DDS")
_STREETS = ("MAIN ST", "OAK AVE", "MEDICAL PKWY", "BROADWAY", "HOSPITAL DR", "PARK BLVD")
_CITIES = ("SPRINGFIELD", "RIVERSIDE", "FRANKLIN", "GREENVILLE", "BRISTOL", "CLINTON")


def npi_with_check_digit(first_nine: int) -> str:
    """A valid NPI: nine digits and the Luhn check digit over ``80840`` + them."""
    body = f"{first_nine:09d}"
    total = 24
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return body + str((10 - total % 10) % 10)


def _quoted(values: Sequence[str]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values)


def _phone(rng: random.Random) -> str:
    return f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"


def _date(rng: random.Random, first_year: int = 2005, last_year: int = 2025) -> str:
    return (f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/"
            f"{rng.randint(first_year, last_year)}")


class NppesGenerator:
    """Rows for the main file; ``row(n)`` is deterministic for a given seed."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        codes, weights = zip(*_INDIVIDUAL_TAXONOMIES, strict=True)
        self._codes: Sequence[str] = codes
        self._cum_weights = list(_accumulate(weights))
        self._empty_tail = _quoted([""] * (len(HEADER) - _TAIL_START))
        self._tail_after_identifier_1 = self._empty_tail[len(_quoted([""] * 4)):]

    def row(self, n: int) -> str:
        rng = self.rng
        npi = npi_with_check_digit(100_000_000 + n)
        head = [""] * _TAIL_START
        head[0] = npi
        roll = rng.random()
        if roll < 0.03:  # deactivated: only the NPI and the date, as CMS publishes it
            head[_COL["NPI Deactivation Date"]] = _date(rng)
            return _quoted(head) + "," + self._empty_tail + "\n"
        if roll < 0.033:  # deactivated once, reactivated since: a full record again
            head[_COL["NPI Deactivation Date"]] = _date(rng, 2010, 2015)
            head[_COL["NPI Reactivation Date"]] = _date(rng, 2016, 2025)
        organisation = roll < 0.23
        state = rng.choice(_STATES)
        head[1] = "2" if organisation else "1"
        if organisation:
            head[_COL["Provider Organization Name (Legal Business Name)"]] = (
                f"{rng.choice(_CITIES)} {rng.choice(_LAST)}, {rng.choice(('LLC', 'PC', 'INC'))}")
            head[_COL["Authorized Official Last Name"]] = rng.choice(_LAST)
            head[_COL["Authorized Official First Name"]] = rng.choice(_FIRST)
            head[_COL["Authorized Official Title or Position"]] = "ADMINISTRATOR"
            head[_COL["Authorized Official Telephone Number"]] = _phone(rng)
            taxonomies = [rng.choice(_ORG_TAXONOMIES)]
        else:
            head[_COL["Provider Last Name (Legal Name)"]] = rng.choice(_LAST)
            head[_COL["Provider First Name"]] = rng.choice(_FIRST)
            if rng.random() < 0.5:
                head[_COL["Provider Middle Name"]] = rng.choice("ABCDEFGHJKLMNPRSTW")
            head[_COL["Provider Credential Text"]] = rng.choice(_CREDENTIALS)
            head[_COL["Provider Sex Code"]] = rng.choice("MF")
            taxonomies = rng.choices(self._codes, cum_weights=self._cum_weights,
                                     k=2 if rng.random() < 0.2 else 1)
        street = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}"
        city, postal = rng.choice(_CITIES), f"{rng.randint(10000, 99999)}{rng.randint(0, 9999):04d}"
        for kind in ("Mailing", "Practice Location"):
            head[_COL[f"Provider First Line Business {kind} Address"]] = street
            head[_COL[f"Provider Business {kind} Address City Name"]] = city
            head[_COL[f"Provider Business {kind} Address State Name"]] = state
            head[_COL[f"Provider Business {kind} Address Postal Code"]] = postal
            head[_COL[f"Provider Business {kind} Address Country Code (If outside U.S.)"]] = "US"
        if rng.random() < 0.95:
            phone = _phone(rng)
            head[_COL["Provider Business Practice Location Address Telephone Number"]] = phone
            head[_COL["Provider Business Mailing Address Telephone Number"]] = phone
        head[_COL["Provider Enumeration Date"]] = _date(rng)
        head[_COL["Last Update Date"]] = _date(rng, 2015, 2025)
        for slot, code in enumerate(taxonomies, start=1):
            head[_COL[f"Healthcare Provider Taxonomy Code_{slot}"]] = code
            head[_COL[f"Provider License Number_{slot}"]] = f"{rng.randint(10000, 9999999)}"
            head[_COL[f"Provider License Number State Code_{slot}"]] = state
            head[_COL[f"Healthcare Provider Primary Taxonomy Switch_{slot}"]] = (
                "Y" if slot == 1 else "N")
        tail = self._empty_tail
        if rng.random() < 0.3:
            identifiers = [f"{rng.randint(100000, 99999999)}", "05", state, ""]
            tail = _quoted(identifiers) + self._tail_after_identifier_1
        return _quoted(head) + "," + tail + "\n"


def _accumulate(weights: Sequence[int]) -> list[int]:
    total, out = 0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def write_nppes(path: Path, rows: int, *, seed: int = 7) -> int:
    """Write the header and ``rows`` rows to ``path``; returns the file size in bytes."""
    generator = NppesGenerator(seed)
    with open(path, "w", encoding="utf-8", newline="", buffering=1 << 20) as out:
        out.write(_quoted(HEADER) + "\n")
        batch: list[str] = []
        for n in range(rows):
            batch.append(generator.row(n))
            if len(batch) == 10_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    return path.stat().st_size


def write_locations(path: Path, rows: int, *, npi_count: int, seed: int = 11) -> int:
    """A ``pl_pfile``-shaped file: secondary locations of NPIs from :func:`write_nppes`."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="", buffering=1 << 20) as out:
        out.write(_quoted(NPPES_PRACTICE_LOCATION_HEADER) + "\n")
        for _ in range(rows):
            npi = npi_with_check_digit(100_000_000 + rng.randrange(npi_count))
            phone = _phone(rng) if rng.random() < 0.9 else ""
            out.write(_quoted([
                npi, f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}", "",
                rng.choice(_CITIES), rng.choice(_STATES), f"{rng.randint(10000, 99999)}",
                "US", phone, "", ""]) + "\n")
    return path.stat().st_size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--locations", type=Path, help="also write a pl_pfile here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    size = write_nppes(args.out, args.rows, seed=args.seed)
    result: dict[str, object] = {"path": str(args.out), "rows": args.rows, "bytes": size}
    if args.locations:
        result["locations_bytes"] = write_locations(args.locations, args.rows // 10,
                                                    npi_count=args.rows)
    result["seconds"] = round(time.perf_counter() - started, 2)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
