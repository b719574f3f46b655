"""Pictures of training: loss/metric curves and first-layer filters (optional extra ``plot``).

    from lamina import plot
    plot.history(model.fit(...), path="curves.png")
    plot.filters(model.layers[0], path="filters.png")

Both return a matplotlib Figure (built without pyplot, so no global state and no window) and,
given ``path``, write it as a PNG atomically. Needs ``pip install "lamina[plot]"``.
"""

import numpy as np

from lamina.errors import ConfigError
from lamina.writing import atomic_write

__all__ = ["history", "filters"]


def _figure(**kwargs):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("lamina.plot needs matplotlib: pip install \"lamina[plot]\"") from None
    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    """Write the figure as a PNG, atomically (lamina.writing): errors name `path`, never
    the temporary file, and the file gets open()'s mode."""
    with atomic_write(path, "plot") as file:
        figure.savefig(file, format="png", dpi=100)


def history(history, path=None, title=None):
    """One panel per metric (loss, accuracy, ...), training and validation curves per epoch.

    history: the History that fit returns, or its ``.history`` dict.
    """
    logs = getattr(history, "history", history)
    epochs = getattr(history, "epoch", None)
    if not isinstance(logs, dict) or not logs:
        raise ConfigError(f"plot.history expects a History (from fit) or its non-empty dict. "
                          f"Received: {history!r}")
    names = [key for key in logs if not key.startswith("val_")]
    names += [key[4:] for key in logs if key.startswith("val_") and key[4:] not in names]
    length = len(next(iter(logs.values())))
    epochs = np.arange(1, length + 1) if not epochs else np.asarray(epochs) + 1
    from matplotlib.ticker import MaxNLocator

    figure = _figure(figsize=(4.5 * len(names), 3.6), layout="constrained")
    for i, name in enumerate(names):
        axes = figure.add_subplot(1, len(names), i + 1)
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in logs:
                axes.plot(epochs, logs[key], marker="o", markersize=3, label=label)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(name)
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    if path is not None:
        _save(figure, path)
    return figure


def filters(layer, path=None, columns=8):
    """The convolution kernels of `layer` (weight (F, C, KH, KW)) as a grid of small images.

    3-channel kernels are shown in colour, others as one grey image per input channel
    (at most 8 channels). Each image is scaled to its own min..max.
    """
    weight = getattr(getattr(layer, "weight", None), "data", None)
    if weight is None or np.ndim(weight) != 4:
        raise ConfigError(f"plot.filters expects a convolution layer with weight "
                          f"(F, C, KH, KW). Received: {layer!r}")
    weight = np.asarray(weight, dtype=np.float64)
    f, c = weight.shape[:2]
    colour = c == 3
    tiles = [(k, ch) for k in range(f) for ch in ([None] if colour else range(min(c, 8)))]
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    figure = _figure(figsize=(1.1 * columns, 1.1 * rows + 0.4), layout="constrained")
    for i, (k, ch) in enumerate(tiles):
        axes = figure.add_subplot(rows, columns, i + 1)
        image = weight[k].transpose(1, 2, 0) if colour else weight[k, ch]
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        axes.imshow(image, cmap=None if colour else "gray", interpolation="nearest")
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title(str(k) if colour or c == 1 else f"{k}:{ch}", fontsize=7)
    figure.suptitle(f"{getattr(layer, 'name', 'layer')}: {f} filters")
    if path is not None:
        _save(figure, path)
    return figure
