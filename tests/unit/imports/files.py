"""Small import files in the real published layouts, written the way their sources write.

People in these files (all invented):

- Dr. Alice Adams, family physician (207Q00000X), NPI 1234567893 (the CMS example NPI)
- Dr. Paul Park, psychiatrist (2084P0800X)
- Carol Chen, clinical social worker (1041C0700X)
- Nora Novak, family nurse practitioner (363LF0000X)
- Dan Dorsey, dentist (1223G0001X): out of scope
- Northside Clinic LLC, an organisation: out of scope
- Ellis Gone, deactivated: CMS publishes only the NPI and the date
- Bob Barrister and Rita Retired, New York attorneys
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tests.support.nppes_layout import (
    NPPES_MAIN_HEADER_V2,
    NPPES_PRACTICE_LOCATION_HEADER,
)

ALICE_NPI = "1234567893"
PAUL_NPI = "1440000010"
CAROL_NPI = "1440000028"
NORA_NPI = "1440000036"
DAN_NPI = "1440000044"
CLINIC_NPI = "1440000051"
ELLIS_NPI = "1440000069"
SPARE_NPIS = ("1440000077", "1440000085", "1440000093", "1440000101", "1440000119")

PRACTICE_PHONE = "Provider Business Practice Location Address Telephone Number"


def quoted_line(values: Iterable[str], eol: str = "\n") -> str:
    """One line as CMS writes it: every field quoted, quotes doubled."""
    return ",".join('"' + v.replace('"', '""') + '"' for v in values) + eol


def individual(npi: str, last: str, first: str, taxonomy: str, phone: str = "",
               **more: str) -> dict[str, str]:
    row = {
        "NPI": npi,
        "Entity Type Code": "1",
        "Provider Last Name (Legal Name)": last,
        "Provider First Name": first,
        "Provider Credential Text": "MD",
        "Provider Sex Code": "F",
        "Provider First Line Business Practice Location Address": "1 MAIN ST",
        "Provider Business Practice Location Address City Name": "ALBANY",
        "Provider Business Practice Location Address State Name": "NY",
        "Provider Business Practice Location Address Postal Code": "122070001",
        "Provider Business Practice Location Address Country Code (If outside U.S.)": "US",
        PRACTICE_PHONE: phone,
        "Provider Enumeration Date": "05/23/2007",
        "Last Update Date": "07/08/2021",
        "Healthcare Provider Taxonomy Code_1": taxonomy,
        "Provider License Number_1": "123456",
        "Provider License Number State Code_1": "NY",
        "Healthcare Provider Primary Taxonomy Switch_1": "Y",
    }
    row.update(more)
    return row


def alice(**more: str) -> dict[str, str]:
    return individual(ALICE_NPI, "ADAMS", "ALICE", "207Q00000X", "5185550101", **more)


def paul(**more: str) -> dict[str, str]:
    return individual(PAUL_NPI, "PARK", "PAUL", "2084P0800X", "2125550102", **more)


def carol(**more: str) -> dict[str, str]:
    return individual(CAROL_NPI, "CHEN", "CAROL", "1041C0700X", "7185550103", **more)


def nora(**more: str) -> dict[str, str]:
    return individual(NORA_NPI, "NOVAK", "NORA", "363LF0000X", "3155550104", **more)


def dan(**more: str) -> dict[str, str]:
    return individual(DAN_NPI, "DORSEY", "DAN", "1223G0001X", "6075550105", **more)


def clinic(**more: str) -> dict[str, str]:
    row = {
        "NPI": CLINIC_NPI,
        "Entity Type Code": "2",
        "Provider Organization Name (Legal Business Name)": "NORTHSIDE CLINIC, LLC",
        PRACTICE_PHONE: "5185550106",
        "Healthcare Provider Taxonomy Code_1": "207Q00000X",  # a group of physicians
        "Healthcare Provider Primary Taxonomy Switch_1": "Y",
    }
    row.update(more)
    return row


def ellis_deactivated(date: str = "03/14/2022", **more: str) -> dict[str, str]:
    row = {"NPI": ELLIS_NPI, "NPI Deactivation Date": date}
    row.update(more)
    return row


def nppes_bytes(
    rows: Sequence[Mapping[str, str]],
    header: Sequence[str] = NPPES_MAIN_HEADER_V2,
    *,
    eol: str = "\n",
    bom: bool = False,
) -> bytes:
    unknown = {name for row in rows for name in row} - set(header)
    assert not unknown, f"not in the layout: {unknown}"
    text = quoted_line(header, eol) + "".join(
        quoted_line((row.get(name, "") for name in header), eol) for row in rows)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def location(npi: str, phone: str, extension: str = "") -> dict[str, str]:
    return {
        "NPI": npi,
        "Provider Secondary Practice Location Address- Address Line 1": "9 SIDE ST",
        "Provider Secondary Practice Location Address - City Name": "TROY",
        "Provider Secondary Practice Location Address - State Name": "NY",
        "Provider Secondary Practice Location Address - Postal Code": "12180",
        "Provider Secondary Practice Location Address - Country Code (If outside U.S.)": "US",
        "Provider Secondary Practice Location Address - Telephone Number": phone,
        "Provider Secondary Practice Location Address - Telephone Extension": extension,
    }


def locations_bytes(rows: Sequence[Mapping[str, str]]) -> bytes:
    return nppes_bytes(rows, NPPES_PRACTICE_LOCATION_HEADER)


# data.ny.gov "NYS Attorney Registrations": the API field names of the public columns.
NY_ROSTER_HEADER = (
    "registration_number", "first_name", "middle_name", "last_name", "suffix",
    "company_name", "street_1", "street_2", "city", "state", "zip", "zip_plus_four",
    "country", "county", "phone_number", "year_admitted",
    "judicial_department_of_admission", "law_school", "status", "next_registration",
)
# The same columns as the portal's CSV export names them.
NY_ROSTER_DISPLAY_HEADER = tuple(
    " ".join(word.capitalize() for word in name.split("_")) for name in NY_ROSTER_HEADER)


def attorney(number: str, first: str, last: str, phone: str, standing: str,
             **more: str) -> dict[str, str]:
    row = {
        "registration_number": number, "first_name": first, "last_name": last,
        "company_name": "BARRISTER & ASSOCIATES, LLP", "street_1": "10 COURT ST",
        "city": "Brooklyn", "state": "NY", "zip": "11201", "country": "United States",
        "county": "Kings", "phone_number": phone, "year_admitted": "1998",
        "judicial_department_of_admission": "2", "law_school": "BROOKLYN LAW SCHOOL",
        "status": standing, "next_registration": "Jun 2027",
    }
    row.update(more)
    return row


def bob(**more: str) -> dict[str, str]:
    return attorney("2912345", "BOB", "BARRISTER", "(718) 555-0111",
                    more.pop("status", "Currently registered"), **more)


def rita(**more: str) -> dict[str, str]:
    return attorney("1876543", "RITA", "RETIRED", "(518) 555-0112",
                    more.pop("status", "Retired"), **more)


def roster_bytes(
    rows: Sequence[Mapping[str, str]],
    header: Sequence[str] = NY_ROSTER_HEADER,
    *,
    encoding: str = "utf-8",
) -> bytes:
    """Quoted only where needed, as Socrata's exports are."""
    def field(value: str) -> str:
        if any(c in value for c in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [",".join(field(name) for name in header)]
    for row in rows:
        keyed = {k: v for k, v in row.items()}
        lines.append(",".join(field(keyed.get(name, keyed.get(_api(name), "")))
                              for name in header))
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _api(display_name: str) -> str:
    return display_name.lower().replace(" ", "_")
