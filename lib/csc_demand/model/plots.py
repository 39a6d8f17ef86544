"""Selection and profile plots saved as PNG files (logged as MLflow artifacts)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from csc_demand.codes import INDICATOR_NAMES  # noqa: E402


def plot_criteria(table: list[dict], path: str | Path, chosen: int | None = None) -> Path:
    """BIC, AIC and SABIC against k (left) and entropy R-squared (right)."""
    ks = [row["k"] for row in table]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (("bic", "BIC"), ("aic", "AIC"), ("sabic", "SABIC")):
        left.plot(ks, [row[key] for row in table], marker="o", label=label)
    right.plot(ks, [row["entropy_r2"] for row in table], marker="o", color="tab:purple")
    for ax in (left, right):
        if chosen is not None:
            ax.axvline(chosen, color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("number of classes k")
        ax.set_xticks(ks)
    left.set_ylabel("information criterion (lower is better)")
    left.legend()
    right.set_ylabel("entropy R-squared")
    fig.suptitle("Latent class model selection")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_profiles(theta: np.ndarray, class_names: Sequence[str], sizes: Sequence[float] | np.ndarray, path: str | Path) -> Path:
    """Heatmap of P(factor | category): categories as rows (with their share), factors as columns."""
    fig, ax = plt.subplots(figsize=(14, 0.45 * len(class_names) + 3))
    image = ax.imshow(theta, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(class_names)))
    ax.set_yticklabels([f"{n[:45]} ({s:.1%})" for n, s in zip(class_names, sizes, strict=True)], fontsize=8)
    ax.set_xticks(range(len(INDICATOR_NAMES)))
    ax.set_xticklabels([n.replace("_", " ") for n in INDICATOR_NAMES], rotation=90, fontsize=7)
    fig.colorbar(image, ax=ax, label="P(factor | category)")
    ax.set_title("Class profiles")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
