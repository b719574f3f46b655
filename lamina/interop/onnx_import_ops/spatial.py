"""Pad (constant zeros on H and W of (N, C, H, W); negative widths crop) -> ZeroPad2D;
Resize of H and W by integer scales or to a fixed size -> Upsample2D: 'nearest' as PyTorch
exports it (asymmetric coordinates, floor), 'linear' as bilinear with align_corners or
(pytorch_)half_pixel coordinates; the NearestUpsample node patterns.py fuses (the rows and
columns a nearest upsampling reads) -> the Upsample2D that reads exactly those."""

import numpy as np

from lamina import layers as L
from lamina.functional import upsample
from lamina.interop.onnx_import_ops.graph_state import BATCH
from lamina.interop.onnx_import_ops.registry import converts

# (ONNX mode, coordinate_transformation_mode, nearest_mode) -> Upsample2D's (mode, align_corners)
_RESIZE_MODES = {("nearest", "asymmetric", "floor"): ("nearest", None),
                 ("linear", "align_corners", None): ("bilinear", True),
                 ("linear", "pytorch_half_pixel", None): ("bilinear", False),
                 ("linear", "half_pixel", None): ("bilinear", False)}


@converts("Pad")
def pad(node, graph):
    x = graph.tensor(node, 0)
    pads = graph.constant(node, 1, "pads").reshape(-1).tolist()
    value = graph.optional_constant(node, 2, "constant value")
    mode = node.attr("mode", "constant")
    received = f"Received: mode={mode!r}, pads={pads}, input shape {x.shape}"
    if x.ndim != 4 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or graph.has(node, 3):
        raise graph.error(node, f"is supported as padding of H and W of (N, C, H, W), all "
                          f"axes given. {received}")
    if mode != "constant" or value is not None and float(value) != 0:
        raise graph.error(node, f"is supported with zeros only (mode 'constant', value 0). "
                          f"{received}, value={value}")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    layer = L.ZeroPad2D((left, right, top, bottom), name=graph.layer_name(node))
    return [graph.call(layer, x)]


@converts("Resize")
def resize(node, graph):
    x = graph.tensor(node, 0)
    mode = node.attr("mode", "nearest")
    key = (mode, node.attr("coordinate_transformation_mode", "half_pixel"),
           node.attr("nearest_mode", "round_prefer_floor") if mode == "nearest" else None)
    scales = graph.optional_constant(node, 2, "scales")
    sizes = graph.optional_constant(node, 3, "sizes")
    scales = None if scales is None or scales.size == 0 else scales.tolist()
    sizes = None if sizes is None or sizes.size == 0 else sizes.tolist()
    received = (f"Received: mode={key[0]!r}, coordinate_transformation_mode={key[1]!r}, "
                f"nearest_mode={key[2]!r}, scales={scales}, sizes={sizes}, input shape {x.shape}")
    if key not in _RESIZE_MODES or x.ndim != 4 or node.attr("antialias", 0):
        raise graph.error(node, f"is supported over (N, C, H, W) as PyTorch's nearest or "
                          f"bilinear upsampling. {received}")
    upsample_mode, align_corners = _RESIZE_MODES[key]
    if scales is not None and scales[:2] == [1, 1] and all(s == int(s) and s >= 1
                                                           for s in scales[2:]):
        options = {"scale_factor": tuple(int(s) for s in scales[2:])}
    elif sizes is not None and sizes[0] in (BATCH, graph.batch_size) and sizes[1] == x.shape[1]:
        options = {"size": tuple(int(s) for s in sizes[2:])}
    else:
        raise graph.error(node, f"resizes H and W only, by integer scales or to a fixed "
                          f"size. {received}")
    layer = L.Upsample2D(mode=upsample_mode, align_corners=align_corners,
                         name=graph.layer_name(node), **options)
    return [graph.call(layer, x)]


def _nearest_reads(sizes, **options):
    """The rows and columns Upsample2D(**options, mode 'nearest') reads from an H x W input:
    its own kernel run on the positions (so its float32 rule holds exactly)."""
    height, width = sizes
    rows = np.arange(height, dtype=np.float64).reshape(1, 1, height, 1)
    cols = np.arange(width, dtype=np.float64).reshape(1, 1, 1, width)
    pick = {key: (value[0], 1) for key, value in options.items()}
    row_reads = upsample.upsample2d_forward(rows, mode="nearest", **pick)[0].reshape(-1)
    pick = {key: (1, value[1]) for key, value in options.items()}
    col_reads = upsample.upsample2d_forward(cols, mode="nearest", **pick)[0].reshape(-1)
    return tuple(int(i) for i in row_reads), tuple(int(i) for i in col_reads)


@converts("NearestUpsample")
def nearest_upsample(node, graph):
    x = graph.tensor(node, 0)
    rows, cols = node.attr("rows"), node.attr("cols")
    if x.ndim != 4 or None in x.shape[2:]:
        raise graph.error(node, f"gathers rows and columns of (N, C, H, W) with H and W known. "
                          f"Received: input shape {x.shape}")
    height, width = x.shape[2:]
    candidates = [{"size": (len(rows), len(cols))}]
    if len(rows) % height == 0 and len(cols) % width == 0:
        candidates.insert(0, {"scale_factor": (len(rows) // height, len(cols) // width)})
    for options in candidates:
        if _nearest_reads((height, width), **options) == (rows, cols):
            layer = L.Upsample2D(name=graph.layer_name(node), **options)
            return [graph.call(layer, x)]
    raise graph.error(node, f"gathers rows {list(rows)} and columns {list(cols)}, which no "
                      f"nearest upsampling of {height}x{width} reads")
