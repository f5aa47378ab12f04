"""Draw an invoice snapshot (`Invoice.data`) as a PDF with fpdf2.

Only the frozen snapshot is read, so the PDF of a document is the same whenever it is drawn.
DejaVu Sans (Debian's fonts-dejavu-core) prints any name or address; without it the core
Helvetica font is used and characters outside Latin-1 print as "?".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF

from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.services.wallet import format_money

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
ACCENT = (37, 99, 235)
GREY = (100, 110, 125)
LINE = (220, 224, 230)


def _date(iso: str, with_time: bool = False) -> str:
    try:
        value = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return ""
    return value.strftime("%d %b %Y %H:%M UTC" if with_time else "%d %b %Y")


class _Doc(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(format="A4", unit="mm")
        self.footer_text = footer_text
        regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            self.add_font("Body", "", str(regular))
            self.add_font("Body", "B", str(bold))
            self.family, self.unicode = "Body", True
        else:
            self.family, self.unicode = "Helvetica", False
        self.set_auto_page_break(True, margin=20)
        self.set_margins(18, 18, 18)

    def t(self, value: Any) -> str:
        """Text the current font can print."""
        value = str(value or "")
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = (20, 24, 31)) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)

    def footer(self) -> None:
        self.set_y(-14)
        self.font(8, color=GREY)
        self.cell(0, 5, self.t(self.footer_text), align="L")
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def _header(pdf: _Doc, data: dict[str, Any]) -> None:
    platform = data.get("platform") or {}
    logo = str(platform.get("logo") or "")
    logo_path = PROJECT_ROOT / "assets" / logo if logo else None
    top = pdf.get_y()
    if logo_path is not None and logo_path.is_file():
        try:
            pdf.image(str(logo_path), x=pdf.l_margin, y=top, h=12)
            pdf.set_y(top + 14)
        except Exception:  # noqa: BLE001 - an unreadable logo must not stop the document
            pdf.set_y(top)
    pdf.font(18, bold=True, color=ACCENT)
    pdf.cell(100, 9, pdf.t(platform.get("name") or "SkyPanel"))
    pdf.font(16, bold=True)
    pdf.set_xy(pdf.w - pdf.r_margin - 80, top)
    pdf.cell(80, 9, pdf.t(data.get("title", "")), align="R", new_x="LEFT", new_y="NEXT")
    pdf.font(10, color=GREY)
    pdf.cell(80, 6, pdf.t(data.get("number", "")), align="R", new_x="LEFT", new_y="NEXT")
    pdf.cell(80, 6, "Issued " + _date(data.get("issued_at", "")), align="R", new_x="LEFT", new_y="NEXT")
    period = data.get("period") or {}
    if period.get("label"):
        pdf.cell(80, 6, pdf.t("Period " + period["label"]), align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_x(pdf.l_margin)
    pdf.ln(6)


def _bill_to(pdf: _Doc, data: dict[str, Any]) -> None:
    bill = data.get("bill_to") or {}
    pdf.font(8, bold=True, color=GREY)
    pdf.cell(0, 5, "BILLED TO", new_x="LMARGIN", new_y="NEXT")
    pdf.font(10, bold=True)
    pdf.cell(0, 5.5, pdf.t(bill.get("legal_name") or bill.get("organization")), new_x="LMARGIN", new_y="NEXT")
    pdf.font(10)
    lines = [bill.get("address_line1"), bill.get("address_line2"),
             " ".join(x for x in (bill.get("postal_code"), bill.get("city")) if x), bill.get("country_name")]
    if bill.get("legal_name") and bill.get("organization") != bill.get("legal_name"):
        lines.insert(0, bill.get("organization"))
    for line in lines:
        if line:
            pdf.cell(0, 5, pdf.t(line), new_x="LMARGIN", new_y="NEXT")
    if bill.get("tax_id"):
        pdf.cell(0, 5, pdf.t("Tax ID: " + bill["tax_id"]), new_x="LMARGIN", new_y="NEXT")
    if not bill.get("legal_name"):
        pdf.font(8, color=GREY)
        pdf.cell(0, 5, "No billing profile was set when this document was issued.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)


def _table(pdf: _Doc, title: str, headings: list[str], widths: list[float], rows: list[list[str]],
           total: list[str] | None = None) -> None:
    pdf.font(11, bold=True)
    pdf.cell(0, 7, pdf.t(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*LINE)
    pdf.font(8, bold=True, color=GREY)
    for i, (heading, width) in enumerate(zip(headings, widths)):
        pdf.cell(width, 6, pdf.t(heading), border="B", align="R" if i == len(widths) - 1 or
                 (i > 0 and heading in ("Hours", "Amount")) else "L")
    pdf.ln()
    pdf.font(9)
    for row in rows:
        for i, (value, width) in enumerate(zip(row, widths)):
            right = i == len(widths) - 1 or (i > 0 and headings[i] in ("Hours", "Amount"))
            text = pdf.t(value)
            while text and pdf.get_string_width(text) > width - 1.5:
                text = text[:-2] + "…" if pdf.unicode else text[:-1]
            pdf.cell(width, 6, text, border="B", align="R" if right else "L")
        pdf.ln()
    if total:
        pdf.font(9, bold=True)
        for i, (value, width) in enumerate(zip(total, widths)):
            pdf.cell(width, 7, pdf.t(value), align="R" if i == len(widths) - 1 or
                     (i > 0 and headings[i] in ("Hours", "Amount")) else "L")
        pdf.ln()
    pdf.ln(5)


def render(data: dict[str, Any]) -> bytes:
    """The document as PDF bytes."""
    currency = data.get("currency") or "USD"
    money = lambda v: format_money(Decimal(str(v)), currency)  # noqa: E731
    platform = data.get("platform") or {}
    footer = f"{platform.get('name') or 'SkyPanel'} · {data.get('number', '')}"
    if platform.get("support_email"):
        footer += f" · {platform['support_email']}"
    pdf = _Doc(footer)
    pdf.set_title(f"{data.get('title', 'Invoice')} {data.get('number', '')}")
    pdf.set_author(str(platform.get("name") or "SkyPanel"))
    pdf.set_creator("SkyPanel")
    pdf.add_page()
    _header(pdf, data)
    _bill_to(pdf, data)
    width = pdf.w - pdf.l_margin - pdf.r_margin

    if data.get("kind") == "receipt":
        rows = [[line.get("description", ""), line.get("reference", ""), money(line.get("amount", 0))]
                for line in data.get("lines", [])]
        _table(pdf, "Payment received", ["Description", "Reference", "Amount"],
               [width * 0.5, width * 0.3, width * 0.2], rows, ["Total paid", "", money(data.get("total", 0))])
        pdf.font(9, color=GREY)
        pdf.multi_cell(0, 5, align="L", text=pdf.t(
            f"Paid {_date(data.get('paid_at', ''), True)} and credited to the prepaid wallet. "
            f"Wallet balance after this payment: {money(data.get('balance_after', 0))}."))
    else:
        summary = data.get("summary") or []
        _table(pdf, "Summary", ["", "Amount"], [width * 0.7, width * 0.3],
               [[s["label"], money(s["amount"])] for s in summary[:-1]],
               [summary[-1]["label"], money(summary[-1]["amount"])] if summary else None)
        usage = data.get("usage") or []
        if usage:
            _table(pdf, "Server usage", ["Server", "Plan", "Hours", "Amount"],
                   [width * 0.4, width * 0.3, width * 0.1, width * 0.2],
                   [[u["server"], u["plan"], str(u["hours"]), money(u["amount"])] for u in usage],
                   ["Total", "", str(data.get("usage_hours", "")), money(data.get("usage_total", 0))])
        else:
            pdf.font(9, color=GREY)
            pdf.cell(0, 6, "No server usage in this period.", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        moves = data.get("activity") or []
        if moves:
            _table(pdf, "Payments and adjustments", ["Date", "Type", "Description", "Amount"],
                   [width * 0.18, width * 0.15, width * 0.47, width * 0.2],
                   [[_date(m["date"]), m["label"], m.get("description") or m.get("reference") or "",
                     money(m["amount"])] for m in moves])
        pdf.font(8, color=GREY)
        pdf.multi_cell(0, 4.5, align="L", text=pdf.t(
            "Server usage lists each started hour by the hour it was used; server charges are the debits "
            "posted to the wallet in the period (the last hours of a month may be posted early the next month). "
            "Closing balance = opening balance + every ledger entry in the period."))
    return bytes(pdf.output())
