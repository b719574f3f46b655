"""Window attributes shared by Conv, ConvTranspose and the pools, over 1 or 2 spatial axes
((N, C, L) or (N, C, H, W)): ONNX pads, auto_pad and ceil_mode turned into lamina's padding
(the same at both ends), with a ZeroPad2D in front where a 2-D one is not."""

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


def padded(node, graph, x, pads, pad_value_matters=False):
    """(x, padding per axis): pads equal at both ends go to the layer; other 2-D pads to a
    ZeroPad2D in front (wrong for a max pool, whose padding is -inf: pad_value_matters raises
    instead, as 1-D pads do, lamina having no 1-D zero padding)."""
    begin, end = pads[:len(pads) // 2], pads[len(pads) // 2:]
    if begin == end:
        return x, tuple(begin)
    if pad_value_matters or len(begin) != 2:
        raise graph.error(node, f"pads asymmetrically, which lamina's layer cannot express. "
                          f"Received: pads={pads}")
    (top, left), (bottom, right) = begin, end
    zero_pad = L.ZeroPad2D((left, right, top, bottom), name=graph.layer_name(node, "_pad"))
    return graph.call(zero_pad, x), (0, 0)


def check_floor_sizes(node, graph, sizes, kernel, stride, padding):
    """ceil_mode=1 is lamina's floor rounding where both give the same output size; an error
    where they do not (or where the size is not known)."""
    if not node.attr("ceil_mode", 0):
        return
    for size, k, s, p in zip(sizes, kernel, stride, padding):
        span = None if size is None else size + 2 * p - k
        if span is None or span % s != 0 and (span // s + 1) * s < size + p:
            raise graph.error(node, f"rounds its output size up (ceil_mode=1), which lamina's "
                              f"pools do not; here it would change the output size. Received: "
                              f"spatial size {tuple(sizes)}, kernel {tuple(kernel)}, stride "
                              f"{tuple(stride)}, padding {tuple(padding)}")
