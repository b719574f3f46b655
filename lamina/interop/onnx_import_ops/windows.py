"""Window attributes shared by Conv, ConvTranspose and the pools, over 1 or 2 spatial axes
((N, C, L) or (N, C, H, W)): ONNX pads, auto_pad and ceil_mode turned into lamina's padding
(per axis, or per side where the two ends differ)."""

import math

from lamina import layers as L


def spatial_size(node, graph, x):
    """(L,) or (H, W) of an (N, C, L) or (N, C, H, W) input; an error for another rank."""
    if x.ndim not in (3, 4):
        raise graph.error(node, f"is supported over (N, C, L) or (N, C, H, W) inputs. "
                          f"Received: input shape {x.shape}")
    return x.shape[2:]


def window_attributes(node, sizes):
    """(strides, dilations) as tuples, one entry per spatial axis (ONNX's default 1)."""
    ones = (1,) * len(sizes)
    return tuple(node.attr("strides", ones)), tuple(node.attr("dilations", ones))


def onnx_pads(node, graph, sizes, kernel, stride, dilation):
    """The ONNX pads [begin per axis..., end per axis...], explicit or from auto_pad."""
    auto_pad, count = node.attr("auto_pad", "NOTSET"), 2 * len(sizes)
    if auto_pad in ("NOTSET", "VALID"):
        pads = list(node.attr("pads", [0] * count)) if auto_pad == "NOTSET" else [0] * count
        if len(pads) != count:
            raise graph.error(node, f"expects {count} pads. Received: pads={pads}")
        return pads
    if None in sizes:
        raise graph.error(node, f"needs a known spatial size for auto_pad={auto_pad}. "
                          f"Received: spatial size {tuple(sizes)}")
    begin, end = [], []
    for size, k, s, d in zip(sizes, kernel, stride, dilation):
        total = max((math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else large)
        end.append(large if auto_pad == "SAME_UPPER" else small)
    return begin + end


def layer_padding(pads):
    """ONNX pads (every axis's start, then every end) as a lamina layer's padding: (ph, pw) or
    ((top, bottom), (left, right)) over (H, W); p or (left, right) over a sequence."""
    begin, end = pads[:len(pads) // 2], pads[len(pads) // 2:]
    if len(begin) == 1:
        return begin[0] if begin == end else (begin[0], end[0])
    if begin == end:
        return tuple(begin)
    return tuple((start, stop) for start, stop in zip(begin, end))


def padding_pairs(padding, axes):
    """layer_padding's result as one (start, end) pair per axis."""
    if axes == 1:
        return [padding if isinstance(padding, tuple) else (padding, padding)]
    return [side if isinstance(side, tuple) else (side, side) for side in padding]


def check_floor_sizes(node, graph, sizes, kernel, stride, padding):
    """ceil_mode=1 is lamina's floor rounding where both give the same output size; an error
    where they do not (or where the size is not known)."""
    if not node.attr("ceil_mode", 0):
        return
    for size, k, s, p in zip(sizes, kernel, stride, padding_pairs(padding, len(sizes))):
        span = None if size is None else size + sum(p) - k
        if span is None or span % s != 0 and (span // s + 1) * s < size + p[0]:
            raise graph.error(node, f"rounds its output size up (ceil_mode=1), which lamina's "
                              f"pools do not; here it would change the output size. Received: "
                              f"spatial size {tuple(sizes)}, kernel {tuple(kernel)}, stride "
                              f"{tuple(stride)}, padding {padding}")
