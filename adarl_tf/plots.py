"""Figures shared by TensorBoard monitoring and the report (matplotlib, no TensorFlow).

Figures are built as `matplotlib.figure.Figure` objects on an Agg canvas, never
through pyplot, so nothing needs a display and no global backend is switched
for the caller.
"""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def figure_to_png(fig):
    """PNG bytes of a matplotlib `Figure` (Agg canvas: no display, no pyplot state)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return buffer.getvalue()


def row_percentages(confusion):
    """Rows of a count matrix as percentages; a row without examples is NaN."""
    confusion = np.asarray(confusion, dtype=np.float64)
    support = confusion.sum(axis=1, keepdims=True)
    return np.divide(100 * confusion, support, out=np.full_like(confusion, np.nan),
                     where=support > 0)


def confusion_figure(percent, labels, title, row_notes=None):
    """A row-normalised confusion matrix, percentages in the cells (paper Fig. 4 style).

    Args:
        percent: (n, n) array. Rows truth, columns prediction, each row in
            percent (NaN: no example of that class).
        labels: list of n class names.
        title: str.
        row_notes: optional list of n strings shown after the row labels
            (e.g. utterance counts).
    """
    percent = np.asarray(percent, dtype=np.float64)
    fig = Figure(figsize=(4.6, 3.9), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.nan_to_num(percent), cmap="Blues", vmin=0, vmax=100)
    for i in range(len(labels)):
        for j in range(len(labels)):
            text = "-" if np.isnan(percent[i, j]) else f"{percent[i, j]:.1f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    color="white" if percent[i, j] > 60 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    rows = labels if row_notes is None else [f"{l} {n}" for l, n in zip(labels, row_notes)]
    ax.set_yticks(range(len(labels)), rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.suptitle(title, fontsize=9)  # Over the figure: above the axes it hits the colour bar.
    fig.colorbar(image, ax=ax, label="% of the true class")
    return fig


def attention_figure(profiles, title):
    """Mean I^D per frequency row, one line of cells per group (e.g. gender).

    Args:
        profiles: dict {row label: (n_rows,) mean attention}. Row 0 of I^D is the
            lowest frequency band.
    """
    names = list(profiles)
    values = np.stack([profiles[n] for n in names])
    fig = Figure(figsize=(5.5, 0.8 + 0.45 * len(names)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if values[i, j] < 0.5 else "black")
    ax.set_yticks(range(len(names)), names)
    ax.set_xticks(range(values.shape[1]))
    ax.set_xlabel("frequency row of F^D (0 = lowest band)")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="I^D")
    return fig
