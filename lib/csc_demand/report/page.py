"""One report page (an LA's, or England's): its gold inputs, the published tables it shows, and HTML helpers.

Every table a page shows goes through ``Page.publish`` (disclosure control, the output-check log, a tidy CSV);
charts and text are drawn from the returned, published frame only.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from csc_demand.config import DisclosureConf
from csc_demand.report.publish import NOT_COUNT, Published, TableRule, publish
from csc_demand.report.tables import ENGLAND, in_words

MISSING = "–"

NO_CATEGORIES = ("no demand categories in it: `csc-demand outcomes` ran without gold.assessment_category; run "
                 "`csc-demand fit` and `csc-demand classify`, then `csc-demand outcomes` again")
BY_CATEGORY_ONLY = ("category_trends", "category_thresholds")  # nothing to show without categories


def without_categories(gold: dict[str, pd.DataFrame]) -> dict[str, str]:
    """The tables that only show the category mix, with why not, when outcomes ran without demand categories
    (gold.category_trends counts every assessment under "all", id null); otherwise nothing."""
    trends = gold.get("category_trends")
    if trends is None or trends.empty or trends["category_id"].notna().any():
        return {}
    return {name: NO_CATEGORIES for name in BY_CATEGORY_ONLY if name in gold}


class Publisher:
    """Publishes each table once, over every LA of the report and England, however many pages show it: pages cut
    from one published table cannot hand a reader the parts of a total again (publish.TableRule)."""

    def __init__(self, conf: DisclosureConf):
        self.conf = conf
        self.tables: dict[str, tuple[Published, TableRule]] = {}

    def publish(self, name: str, build: Callable[[], pd.DataFrame], rule: TableRule) -> pd.DataFrame:
        if name not in self.tables:
            self.tables[name] = (publish(with_whole_ids(build().reset_index(drop=True)), name, rule, self.conf), rule)
        return self.tables[name][0].frame


def with_whole_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Category ids as whole numbers (a null id, "all" or unknown, made them floats in pandas: 2.0 in a CSV)."""
    return frame.assign(category_id=frame["category_id"].astype("Int64")) if "category_id" in frame else frame


@dataclass
class Page:
    la: str                                  # LA code, or "ALL" for the national page
    gold: dict[str, pd.DataFrame]            # gold table name -> rows of every LA of the report and of England
    absent: dict[str, str]                   # gold table name -> why it is not available
    publisher: Publisher
    las: list[str]                           # every LA of the report
    comparison: str = "England"
    # LA pages against the distribution across the LAs (median LA, interquartile range) instead of England's rows
    distribution: bool = False
    shown: dict[str, pd.DataFrame] = field(default_factory=dict)  # published tables this page used (its rows)

    @property
    def conf(self) -> DisclosureConf:
        return self.publisher.conf

    @property
    def national(self) -> bool:
        return self.la == ENGLAND

    @property
    def name(self) -> str:
        return self.comparison if self.national else f"LA {self.la}"

    @property
    def slug(self) -> str:
        return "index" if self.national else f"la_{self.la}"

    @property
    def areas(self) -> list[str]:
        """The page's own area first, then the comparison (England's page: England only)."""
        return [ENGLAND] if self.national else [self.la, ENGLAND]

    @cached_property
    def _category_ids(self) -> dict[str, int]:
        """Category name -> id, from every gold table with both ("No factors identified", 0, is not in every one);
        once per page, though several of its charts ask."""
        ids: dict[str, int] = {}
        for frame in self.gold.values():
            if {"category_id", "category_name"} <= set(frame.columns):
                known = frame.dropna(subset=["category_id"]).drop_duplicates("category_name")
                ids.update(zip(known["category_name"], known["category_id"], strict=True))
        return ids

    def in_category_order(self, names: Iterable[str]) -> list[str]:
        """Category names by id, as the demand profile and the risk at thresholds list them, so that every chart
        lists the categories alike; names without an id (unknown) after them."""
        ids = self._category_ids
        return sorted(set(names), key=lambda name: (name not in ids, ids.get(name, 0), name))

    def area_name(self, code: str) -> str:
        return self.comparison if code == ENGLAND else f"LA {code}"

    def unavailable(self, *tables: str) -> str | None:
        """One line saying which input is absent and why, or None when all are there."""
        gone = [f"gold.{t} ({self.absent[t]})" for t in tables if t in self.absent]
        return f'<p class="absent">Not available for this report: {html.escape("; ".join(gone))}.</p>' if gone else None

    def publish(self, name: str, build: Callable[[], pd.DataFrame], rule: TableRule,
                areas: list[str] | None = None) -> pd.DataFrame:
        """The published table (built and published once for the whole report), cut to ``areas`` (default: the
        page's areas, or every LA when the page compares with their distribution; tables without an LA column
        whole)."""
        frame = self.publisher.publish(name, build, rule)
        if "la_code" in frame.columns and (areas or not (self.distribution and not self.national)):
            frame = frame[frame["la_code"].isin(areas or self.areas)]
        self.shown[name] = frame
        return frame


def percent(value, digits: int = 1) -> str:
    return MISSING if value is None or pd.isna(value) else f"{100 * float(value):.{digits}f}%"


def with_interval(value, lower, upper) -> str:
    if value is None or pd.isna(value):
        return "not published (too few children)"
    return f"{percent(value)} ({percent(lower)} to {percent(upper)})"


def number(value) -> str:
    return MISSING if value is None or pd.isna(value) else f"{float(value):,.0f}"


def _cell(column: str, value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, str) and column in ("breakdown", "involvement"):
        return html.escape(in_words(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and not NOT_COUNT.search(column):
        return f"{value:,}"  # a count as the page's sentences write it; years, ids and codes as they are
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if column.startswith("excess"):  # children affected (an estimate): whole children, even its interval's ends
            return f"{number:,.0f}"
        is_rate = any(word in column for word in ("rate", "share", "ci_", "difference", "probability", "incidence",
                                                  "relative_gap", "did_estimate"))
        if is_rate and "ratio" not in column and abs(number) <= 1:
            return f"{100 * number:.1f}%"
        return f"{number:,.0f}" if number.is_integer() and abs(number) >= 1 else f"{number:,.2f}"
    return html.escape(str(value))


def html_table(frame: pd.DataFrame, columns: list[str] | None = None, max_rows: int = 60) -> str:
    """A plain HTML table of (published) values; suppressed or unavailable cells show a dash."""
    columns = columns or list(frame.columns)
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c, row[c])}</td>" for c in columns) + "</tr>"
                   for _, row in frame.head(max_rows).iterrows())
    more = f'<p class="note">First {max_rows} of {len(frame)} rows; all rows in the CSV.</p>' if len(frame) > max_rows else ""
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}'


def figure(svg: str | None, caption: str, table: str) -> str:
    """An inline chart with its caption and a link to the published table behind it (one line instead when every
    value of the chart is suppressed)."""
    if svg is None:
        return (f'<p class="absent">Chart not drawn: every value is suppressed (too few children). Data: '
                f'<a href="data/{html.escape(table)}.csv">{html.escape(table)}.csv</a>.</p>')
    return (f'<figure>{svg}<figcaption>{html.escape(caption)} Data: <a href="data/{html.escape(table)}.csv">'
            f'{html.escape(table)}.csv</a>.</figcaption></figure>')
