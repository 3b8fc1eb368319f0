"""statement.json -> statement.pdf: a title page, a summary in plain words, tables, charts.

The PDF is a rendering for people; the signed record is statement.json, whose SHA-256
the title page prints so a reader can match the two.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from privline.adapters.reports import charts


class RenderError(Exception):
    """The PDF could not be made (WeasyPrint or matplotlib missing or failing); permanent."""


def render_pdf(statement: Mapping[str, Any], body: bytes, *, fingerprint: str = "") -> bytes:
    """The PDF of ``statement``; ``body`` is its canonical JSON (for the digest shown);
    ``fingerprint`` is the signing key's full fingerprint, as `audit pubkey` prints it."""
    try:
        import jinja2
        import weasyprint  # type: ignore[import-untyped]  # ships no type information
    except ImportError as exc:
        raise RenderError(f"cannot render the PDF: {exc.name} is not installed") from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("privline.adapters.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(n=_n, usd=_usd, wait=_wait, when=_when, day=_day, lastday=_lastday,
                       by_size=_by_size)
    total = statement["total"]
    html = env.get_template("statement.html").render(
        s=statement, total=total, fingerprint=fingerprint,
        sha256=hashlib.sha256(body).hexdigest(),
        failed=[c for c in statement["checks"] if not c["ok"]],
        chart_calls=_data_uri(charts.calls_by_mode(total["calls"]["by_month"])),
        chart_privileged=_data_uri(charts.privileged(total["privileged"]["by_month"])),
        chart_registry=_data_uri(charts.registry(statement["registry"]["by_month"])),
    )
    try:
        pdf: bytes = weasyprint.HTML(string=html, base_url=".").write_pdf()
    except Exception as exc:  # WeasyPrint raises many kinds; none should escape as a crash
        raise RenderError(f"cannot render the PDF: {exc}") from exc
    return pdf


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _n(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def _usd(value: Any) -> str:
    """Dollars with cents always shown ("$0.10", not "$0.1"); sub-cent rates keep their
    digits ("$0.105"): a cap is stated to the tenth of a cent."""
    if value is None:
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return f"${value}"
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"${amount:,}"


def _by_size(tiers: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Size tiers by facility kind, then in numeric order of their lower bound ("ADP 100
    to 349" before "ADP 1000 and more"), not as text (where 1000 sorts before 350)."""
    def key(tier: Mapping[str, Any]) -> tuple[str, int, str, str]:
        label = str(tier.get("tier", ""))
        found = re.search(r"\d+", label)
        return (label.split(",")[0], int(found[0]) if found else 0, label,
                str(tier.get("from", "")))
    return sorted(tiers, key=key)


def _wait(seconds: Any) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    days, rest = divmod(s, 86400)
    hours = rest // 3600
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    return f"{hours} h {rest % 3600 // 60} min"


def _when(value: Any) -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(str(value))
    return moment.strftime("%-d %B %Y, %H:%M UTC")


def _day(value: Any) -> str:
    moment = datetime.fromisoformat(str(value))
    return moment.strftime("%-d %B %Y")


def _lastday(value: Any) -> str:
    """The last day of a range whose end is exclusive."""
    return _day((datetime.fromisoformat(str(value)) - timedelta(days=1)).isoformat())
