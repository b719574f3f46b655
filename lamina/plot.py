"""Pictures of training: loss/metric curves and first-layer filters (optional extra ``plot``).

    from lamina import plot
    plot.history(model.fit(...), path="curves.png")
    plot.filters(model.layers[0], path="filters.png")
    plot.monitor(monitor, path="monitor.png")                  # a callbacks.Monitor's records
    plot.saliency(x, interpret.saliency(model, x, y), path="saliency.png")
    plot.grad_cam(x, interpret.grad_cam(model, x, y, "conv2"), path="cam.png")
    plot.feature_maps(interpret.feature_maps(model, x[:1], "conv1"), path="maps.png")
    plot.confusion_matrix((y_true, model.predict(x)), labels=names, normalize="true")

Each returns a matplotlib Figure (built without pyplot, so no global state and no window) and,
given ``path``, write it as a PNG atomically. Needs ``pip install "lamina[plot]"``.
"""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional.checks import check_choice
from lamina.writing import atomic_write

__all__ = ["history", "filters", "monitor", "saliency", "grad_cam", "feature_maps",
           "confusion_matrix"]

NORMALIZE = (None, "true", "pred", "all")


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


def monitor(monitor, path=None, statistics=None, title=None):
    """One panel per statistic of a callbacks.Monitor (its records), one line per layer or
    parameter, against the training step; gradient norms and update ratios on a log scale.

    monitor: the Monitor after fit, or its ``records`` list. statistics: the ones to show, in
    order (default: every one recorded).
    """
    records = getattr(monitor, "records", monitor)
    if not isinstance(records, list) or not records:
        raise ConfigError(f"plot.monitor expects a Monitor that has recorded something (after "
                          f"fit) or its non-empty records. Received: {monitor!r}")
    recorded = list(dict.fromkeys(row["statistic"] for row in records))
    statistics = recorded if statistics is None else list(statistics)
    unknown = [name for name in statistics if name not in recorded]
    if unknown or not statistics:
        raise ConfigError(f"plot.monitor: statistics must be among those recorded, {recorded}. "
                          f"Received: {statistics}")
    columns = min(3, len(statistics))
    rows = -(-len(statistics) // columns)
    figure = _figure(figsize=(4.5 * columns, 3.4 * rows), layout="constrained")
    for i, name in enumerate(statistics):
        axes = figure.add_subplot(rows, columns, i + 1)
        lines = {}
        for row in records:
            if row["statistic"] == name:
                lines.setdefault(row["layer"], ([], []))
                lines[row["layer"]][0].append(row["step"])
                lines[row["layer"]][1].append(row["value"])
        for layer, (steps, values) in lines.items():
            axes.plot(steps, values, marker="o", markersize=2, label=layer)
        if name in ("grad_norm", "update_ratio"):
            axes.set_yscale("log")
        axes.set_xlabel("step")
        axes.set_title(name)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=6)
    if title:
        figure.suptitle(title)
    if path is not None:
        _save(figure, path)
    return figure


def _images(name, x, maps, rank):
    """x as (N, C, H, W) images and maps as (N, ...) of `rank` dimensions, checked."""
    x, maps = np.asarray(x, dtype=np.float64), np.asarray(maps, dtype=np.float64)
    if x.ndim != 4 or maps.ndim != rank or len(maps) != len(x):
        raise ConfigError(f"plot.{name} expects images x (N, C, H, W) and maps of {rank} "
                          f"dimensions, one per image. Received: x.shape={x.shape}, "
                          f"maps.shape={maps.shape}")
    return x, maps


def _show(axes, image, cmap="gray", **kwargs):
    """Draw a (C, H, W) or (H, W) image scaled to its own min..max, without ticks."""
    if image.ndim == 3:
        image = image.transpose(1, 2, 0) if image.shape[0] == 3 else image.mean(axis=0)
    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    axes.imshow(image, cmap=None if image.ndim == 3 else cmap, interpolation="nearest", **kwargs)
    axes.set_xticks([])
    axes.set_yticks([])


def _pairs(name, x, overlays, labels, path, title):
    """Each image above its map: a grid of at most 8 columns, two rows per row of images."""
    columns = min(8, len(x))
    rows = -(-len(x) // columns)
    figure = _figure(figsize=(1.3 * columns, 2.6 * rows + 0.4), layout="constrained")
    for i in range(len(x)):
        row, column = divmod(i, columns)
        top = figure.add_subplot(2 * rows, columns, 2 * row * columns + column + 1)
        _show(top, x[i])
        if labels is not None:
            top.set_title(str(labels[i]), fontsize=7)
        overlays(figure.add_subplot(2 * rows, columns, (2 * row + 1) * columns + column + 1), i)
    figure.suptitle(title or name)
    if path is not None:
        _save(figure, path)
    return figure


def saliency(x, maps, path=None, labels=None, title=None):
    """Images (N, C, H, W) above their saliency maps (interpret.saliency, x's shape): each map
    shown as max over channels of |gradient|, scaled to its own maximum."""
    x, maps = _images("saliency", x, maps, 4)
    heat = np.abs(maps).max(axis=1)
    return _pairs("saliency", x, lambda axes, i: _show(axes, heat[i], cmap="hot"), labels,
                  path, title)


def grad_cam(x, cams, path=None, labels=None, title=None):
    """Images (N, C, H, W) above their Grad-CAM maps (interpret.grad_cam, (N, h, w)), each
    map stretched over its image (nearest neighbour when h, w divide H, W) and laid on it."""
    x, cams = _images("grad_cam", x, cams, 3)

    def overlay(axes, i):
        _show(axes, x[i])
        height, width = x.shape[2:]
        axes.imshow(cams[i], cmap="jet", alpha=0.5, interpolation="bilinear",
                    extent=(-0.5, width - 0.5, height - 0.5, -0.5))
    return _pairs("grad_cam", x, overlay, labels, path, title)


def feature_maps(maps, path=None, columns=8, title=None):
    """The channels of one example's maps (interpret.feature_maps: (C, H, W), or (N, C, H, W)
    of which the first example is shown) as a grid of grey images, each scaled to its own
    min..max; also neuron visualisations stacked as (units, H, W)."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim == 4:
        maps = maps[0]
    if maps.ndim != 3:
        raise ConfigError(f"plot.feature_maps expects maps (C, H, W) or (N, C, H, W) from a "
                          f"layer with spatial output. Received: maps.shape={maps.shape}")
    columns = max(1, min(columns, len(maps)))
    rows = -(-len(maps) // columns)
    figure = _figure(figsize=(1.1 * columns, 1.1 * rows + 0.4), layout="constrained")
    for k, image in enumerate(maps):
        axes = figure.add_subplot(rows, columns, k + 1)
        _show(axes, image)
        axes.set_title(str(k), fontsize=7)
    figure.suptitle(title or f"{len(maps)} feature maps")
    if path is not None:
        _save(figure, path)
    return figure


def confusion_matrix(matrix, labels=None, normalize=None, ax=None, path=None, title=None):
    """A confusion matrix as a heat map with its value in each cell: true classes down,
    predicted across (sklearn's ConfusionMatrixDisplay).

    matrix: a (C, C) array (rows true), a lamina.metrics.ConfusionMatrix that has seen data,
    or a tuple (y_true, y_pred) as lamina.metrics.classification_report takes them (class ids
    or rows; scores or predicted ids). labels: C class names for the ticks. normalize: None
    (counts), "true" (each row sums to 1), "pred" (each column), "all" (the whole matrix);
    an empty row or column stays 0. ax: a matplotlib Axes to draw in (its figure is returned
    and written), or None for a new figure.
    """
    from lamina.metrics import ConfusionMatrix
    from lamina.metrics.inputs import class_pairs

    check_choice("plot.confusion_matrix", "normalize", normalize, NORMALIZE)
    if isinstance(matrix, tuple):
        if len(matrix) != 2:
            raise ConfigError(f"plot.confusion_matrix expects a tuple as (y_true, y_pred). "
                              f"Received: a tuple of {len(matrix)}")
        true, predicted, classes = class_pairs("plot.confusion_matrix", *matrix)
        counter = ConfusionMatrix(classes)
        counter.add(true, predicted, classes, np.ones(len(true)))
        matrix = counter
    counts = np.asarray(matrix.result() if isinstance(matrix, ConfusionMatrix) else matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or not counts.size \
            or counts.dtype.kind not in "biuf":
        raise ConfigError(f"plot.confusion_matrix expects a square matrix of counts (C, C), a "
                          f"ConfusionMatrix that has seen data, or (y_true, y_pred). Received: "
                          f"an array of shape {counts.shape} and dtype {counts.dtype}")
    classes = len(counts)
    if labels is not None and len(labels) != classes:
        raise ConfigError(f"plot.confusion_matrix expects one label per class ({classes}). "
                          f"Received: {len(labels)} labels")
    values = counts.astype(np.float64)
    if normalize is not None:
        totals = {"true": values.sum(axis=1, keepdims=True),
                  "pred": values.sum(axis=0, keepdims=True), "all": values.sum()}[normalize]
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals != 0)
    whole = normalize is None and np.all(values == np.round(values))
    if ax is None:
        figure = _figure(figsize=(1.0 + 0.6 * classes, 0.8 + 0.6 * classes),
                         layout="constrained")
        ax = figure.add_subplot(1, 1, 1)
    else:
        figure = ax.figure
    image = ax.imshow(values, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=ax)
    middle = (values.max() + values.min()) / 2
    for (row, column), value in np.ndenumerate(values):
        ax.text(column, row, f"{value:.0f}" if whole else f"{value:.2f}", ha="center",
                va="center", color="white" if value > middle else "black", fontsize=8)
    names = [str(k) for k in range(classes)] if labels is None else [str(n) for n in labels]
    ax.set_xticks(range(classes), names)
    ax.set_yticks(range(classes), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "confusion matrix")
    if path is not None:
        _save(figure, path)
    return figure
