"""Window attributes shared by Conv and the pools: ONNX pads, auto_pad and ceil_mode turned
into lamina's symmetric (ph, pw) padding, with a ZeroPad2D in front where they are not."""

import math

from lamina import layers as L


def image_hw(node, graph, x):
    """(H, W) of an (N, C, H, W) input; an error for another rank (2-D windows only)."""
    if x.ndim != 4:
        raise graph.error(node, f"is supported over (N, C, H, W) inputs only. "
                          f"Received: input shape {x.shape}")
    return x.shape[2:]


def onnx_pads(node, graph, hw, kernel, stride, dilation):
    """The ONNX pads [top, left, bottom, right], explicit or from auto_pad."""
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", "VALID"):
        pads = list(node.attr("pads", [0, 0, 0, 0])) if auto_pad == "NOTSET" else [0, 0, 0, 0]
        if len(pads) != 4:
            raise graph.error(node, f"expects 4 pads (2-D). Received: pads={pads}")
        return pads
    if None in hw:
        raise graph.error(node, f"needs a known spatial size for auto_pad={auto_pad}. "
                          f"Received: spatial size {tuple(hw)}")
    begin, end = [], []
    for size, k, s, d in zip(hw, kernel, stride, dilation):
        total = max((math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else large)
        end.append(large if auto_pad == "SAME_UPPER" else small)
    return begin + end


def padded(node, graph, x, pads, pad_value_matters=False):
    """(x, (ph, pw)): symmetric pads go to the layer; others to a ZeroPad2D in front (wrong
    for a max pool, whose padding is -inf: pad_value_matters raises instead)."""
    top, left, bottom, right = pads
    if (top, left) == (bottom, right):
        return x, (top, left)
    if pad_value_matters:
        raise graph.error(node, f"pads asymmetrically, which lamina's layer cannot express. "
                          f"Received: pads={pads}")
    zero_pad = L.ZeroPad2D((left, right, top, bottom), name=graph.layer_name(node, "_pad"))
    return graph.call(zero_pad, x), (0, 0)


def check_floor_sizes(node, graph, hw, kernel, stride, padding, dilation=(1, 1)):
    """ceil_mode=1 is lamina's floor rounding where both give the same output size; an error
    where they do not (or where the size is not known)."""
    if not node.attr("ceil_mode", 0):
        return
    for size, k, s, p, d in zip(hw, kernel, stride, padding, dilation):
        span = None if size is None else size + 2 * p - d * (k - 1) - 1
        if span is None or span % s != 0 and (span // s + 1) * s < size + p:
            raise graph.error(node, f"rounds its output size up (ceil_mode=1), which lamina's "
                              f"pools do not; here it would change the output size. Received: "
                              f"spatial size {tuple(hw)}, kernel {tuple(kernel)}, stride "
                              f"{tuple(stride)}, padding {tuple(padding)}")
