"""One report page (an LA's, or England's): its gold inputs, the tables it publishes and HTML helpers.

Every table a page shows goes through ``Page.publish`` (disclosure control, the output-check log, a tidy CSV);
charts and text are drawn from the returned, published frame only.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from csc_demand.config import DisclosureConf
from csc_demand.report.publish import Published, TableRule, publish
from csc_demand.report.tables import ENGLAND

MISSING = "–"


@dataclass
class Page:
    la: str                                  # LA code, or "ALL" for the national page
    gold: dict[str, pd.DataFrame]            # gold table name -> rows of this LA and of England
    absent: dict[str, str]                   # gold table name -> why it is not available
    conf: DisclosureConf
    comparison: str = "England"
    published: list[tuple[str, Published, TableRule]] = field(default_factory=list)

    @property
    def national(self) -> bool:
        return self.la == ENGLAND

    @property
    def name(self) -> str:
        return self.comparison if self.national else f"LA {self.la}"

    @property
    def slug(self) -> str:
        return "england" if self.national else f"la_{self.la}"

    def area_name(self, code: str) -> str:
        return self.comparison if code == ENGLAND else f"LA {code}"

    def csv(self, table: str) -> str:
        """Where the published table is written, relative to the report's data/ folder."""
        return f"{self.slug}/{table}.csv"

    def unavailable(self, *tables: str) -> str | None:
        """One line saying which input is absent and why, or None when all are there."""
        gone = [f"gold.{t} ({self.absent[t]})" for t in tables if t in self.absent]
        return f'<p class="absent">Not available for this report: {html.escape("; ".join(gone))}.</p>' if gone else None

    def publish(self, name: str, frame: pd.DataFrame, rule: TableRule) -> pd.DataFrame:
        """Disclosure control on ``frame``; the published frame is recorded for the CSV, workbook and log."""
        result = publish(frame.reset_index(drop=True), name, rule, self.conf)
        self.published.append((name, result, rule))
        return result.frame


def percent(value, digits: int = 1) -> str:
    return MISSING if value is None or pd.isna(value) else f"{100 * float(value):.{digits}f}%"


def with_interval(value, lower, upper) -> str:
    if value is None or pd.isna(value):
        return MISSING
    return f"{percent(value)} ({percent(lower)} to {percent(upper)})"


def number(value) -> str:
    return MISSING if value is None or pd.isna(value) else f"{float(value):,.0f}"


def _cell(column: str, value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, (float, np.floating)):
        is_rate = any(word in column for word in ("rate", "share", "ci_", "difference", "probability", "incidence"))
        if is_rate and "ratio" not in column and abs(value) <= 1:
            return f"{100 * value:.1f}%"
        return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:,.2f}"
    return html.escape(str(value))


def html_table(frame: pd.DataFrame, columns: list[str] | None = None, max_rows: int = 60) -> str:
    """A plain HTML table of (published) values; suppressed or unavailable cells show a dash."""
    columns = columns or list(frame.columns)
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c, row[c])}</td>" for c in columns) + "</tr>"
                   for _, row in frame.head(max_rows).iterrows())
    more = f'<p class="note">First {max_rows} of {len(frame)} rows; all rows in the CSV.</p>' if len(frame) > max_rows else ""
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}'


def figure(svg: str, caption: str, csv_name: str) -> str:
    return (f'<figure>{svg}<figcaption>{html.escape(caption)} Data: <a href="data/{html.escape(csv_name)}">'
            f'{html.escape(csv_name)}</a>.</figcaption></figure>')
