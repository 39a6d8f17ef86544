"""Matplotlib charts rendered to inline SVG text (no files, nothing fetched when the page opens).

Every chart takes already-published numbers: a suppressed value is NaN and is simply not drawn.
"""
from __future__ import annotations

import functools
import io
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import LogFormatter, PercentFormatter  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "csc-demand", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})
if TYPE_CHECKING:
    import pandas as pd

    Values = Sequence | pd.Series | np.ndarray  # a chart's numbers: a published column as it is, or a list


def shared_text_metrics(measure: Callable, cache: dict[tuple, tuple], limit: int = 100_000) -> Callable:
    """``measure`` (matplotlib's text-metrics function) with one cache for every figure: matplotlib's own lives and
    dies with each renderer, so every chart measured the same labels again, once for its layout and once for its
    SVG. The key holds all a measurement depends on: the renderer's kind and resolution, text, font, math mode."""
    @functools.wraps(measure)
    def cached(renderer, text, fontprop, ismath, dpi):
        key = (type(renderer), getattr(renderer, "dpi", None), text, fontprop.copy(), ismath, dpi)
        if key not in cache:
            if len(cache) >= limit:
                cache.clear()
            cache[key] = measure(renderer, text, fontprop, ismath, dpi)
        return cache[key]
    return cached


if hasattr(matplotlib.text, "_get_text_metrics_with_cache"):  # private: without it, matplotlib's own cache
    matplotlib.text._get_text_metrics_with_cache = shared_text_metrics(matplotlib.text._get_text_metrics_with_cache, {})

COLOURS = ("#1f5f8b", "#d95f02", "#7570b3", "#1b9e77")


def _svg(fig, title: str) -> str:
    fig.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=10, x=0.01, ha="left")
    fig.tight_layout()
    # tight_layout leaves a placeholder layout engine, and with any engine savefig draws the figure twice
    fig.set_layout_engine(None)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.DOTALL)


def drawable(series: Sequence[tuple]) -> bool:
    """Whether any series has a value left to draw (everything may be suppressed)."""
    return any(np.isfinite(np.asarray(values, dtype=float)).any() for _, values, *_ in series)


def from_origin(x: np.ndarray, series: Sequence[tuple]) -> tuple[np.ndarray, list[tuple]]:
    """Each drawable curve (and its limits) from (0, 0): no event can have happened at time 0, and published
    estimates start at their first horizon. A curve with nothing to draw gets no point at 0 either."""
    if len(x) and x[0] <= 0:
        return x, list(series)
    with_origin = []
    for name, *arrays in series:
        start = 0.0 if drawable([(name, arrays[0])]) else np.nan
        with_origin.append((name, *(None if a is None else np.concatenate([[start], np.asarray(a, dtype=float)])
                                    for a in arrays)))
    return np.concatenate([[0.0], x]), with_origin


class PlainLogFormatter(LogFormatter):
    """Matplotlib's choice of which log-scale ticks to label (over more than half a decade, some minor ticks only,
    so their labels do not run into each other), written as plain numbers (0.5, not 5e-01)."""

    def __call__(self, x, pos=None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def dot_intervals(labels: Sequence[str], series: Sequence[tuple[str, Values, Values, Values]], title: str,
                  xlabel: str, percent: bool = True, log_scale: bool = False, reference: float | None = None
                  ) -> str | None:
    """One row per label; per series a dot with its 95% interval (series offset vertically so they never hide).
    None when every value is suppressed."""
    if not drawable(series):
        return None
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(labels) * max(1, len(series)) ** 0.5 + 1.6))
    y = np.arange(len(labels))
    step = 0.7 / max(1, len(series))
    for i, (name, values, lower, upper) in enumerate(series):
        v, lo, hi = (np.asarray(a, dtype=float) for a in (values, lower, upper))
        pos = y - 0.35 + step * (i + 0.5)
        # clipped at 0: an interval at a bound can miss its value by rounding error (Wilson at 0 events)
        err = np.clip(np.vstack([np.where(np.isnan(lo), 0, v - lo), np.where(np.isnan(hi), 0, hi - v)]), 0, None)
        ok = ~np.isnan(v)
        ax.errorbar(v[ok], pos[ok], xerr=err[:, ok], fmt="o", ms=4, capsize=2, color=COLOURS[i % 4], label=name)
    if reference is not None:
        ax.axvline(reference, color="grey", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([textwrap.shorten(label, 70) for label in labels])
    ax.invert_yaxis()
    if log_scale:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(PlainLogFormatter(labelOnlyBase=False))
        ax.xaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    elif percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(xlabel)
    if len(series) > 1:
        ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig, title)


def lines(x: Sequence | np.ndarray, series: Sequence[tuple[str, Values, Values | None, Values | None]], title: str,
          xlabel: str, ylabel: str, marks: Sequence[tuple[float, str]] = (), percent: bool = True,
          from_zero: bool = False) -> str | None:
    """Lines (with a shaded 95% band when limits are given), vertical marks at named x positions; ``from_zero``: a
    cumulative incidence, each curve drawn from (0, 0) and the y axis from 0, else the axis spans the values (a
    trend). None when every value is suppressed."""
    if not drawable(series):
        return None
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = np.asarray(x, dtype=float)
    if from_zero:
        x, series = from_origin(x, series)
    for i, (name, values, lower, upper) in enumerate(series):
        colour = COLOURS[i % 4]
        ax.plot(x, np.asarray(values, dtype=float), marker="." if len(x) < 15 else None, color=colour, label=name)
        if lower is not None:
            ax.fill_between(x, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float), color=colour,
                            alpha=0.18, linewidth=0)
    for position, label in marks:
        ax.axvline(position, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(label, (position, 1), xycoords=("data", "axes fraction"), fontsize=8, ha="left", va="top")
    if from_zero:
        ax.set_ylim(bottom=0)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return _svg(fig, title)


def stacked_shares(x: Sequence, names: Sequence[str], shares: np.ndarray, title: str, xlabel: str,
                   ylabel: str = "share of assessments") -> str:
    """Stacked bars of shares (rows = names, columns = x), legend beside."""
    fig, ax = plt.subplots(figsize=(10, 4.2))
    bottom = np.zeros(len(x))
    cmap = plt.get_cmap("tab20")
    for i, name in enumerate(names):
        values = np.nan_to_num(np.asarray(shares[i], dtype=float))
        ax.bar([str(v) for v in x], values, bottom=bottom, color=cmap(i % 20), label=textwrap.shorten(name, 45))
        bottom += values
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    return _svg(fig, title)


def heatmap(matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], title: str,
            colour_label: str) -> str:
    """Rows x columns of probabilities (0-1) with a colour bar."""
    fig, ax = plt.subplots(figsize=(11, 0.34 * len(row_labels) + 3.2))
    image = ax.imshow(matrix, aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.set_yticks(range(len(row_labels)))
    ax.set_yticklabels([textwrap.shorten(label, 60) for label in row_labels], fontsize=8)
    ax.set_xticks(range(len(col_labels)))
    ax.set_xticklabels(col_labels, rotation=90, fontsize=7)
    fig.colorbar(image, ax=ax, label=colour_label, fraction=0.03)
    return _svg(fig, title)
