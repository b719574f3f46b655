"""1-D convolution and pools over (N, C, L) inputs: the 2-D kernels over an (N, C, 1, L) view.

One set of window machinery (im2col, geometry, error messages) serves both: a length-L
signal is a 1xL image and a size-K kernel a 1xK one, so no formula is written twice.
"""

from lamina.errors import ConfigError
from lamina.functional import conv, pool
from lamina.functional.checks import check_dout, check_float, check_int, check_rank, is_int
from lamina.functional.padding import check_mode_fits, check_padding_mode
from lamina.functional.windows import window_geometry


def _single(value, name, minimum, op):
    """An int geometry argument as the (1, value) pair of the 2-D kernels (0 for padding)."""
    return check_int(op, name, value, minimum)


def padding_1d(padding, op="operation"):
    """A 1-D padding (an int, a (left, right) pair, "same" or "valid") as the 2-D kernels'
    padding of the (N, C, 1, L) view: rows never padded."""
    if isinstance(padding, str) and padding in ("same", "valid"):
        return padding
    if is_int(padding) and padding >= 0:
        return (0, int(padding))
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(is_int(p) and p >= 0 for p in padding)):
        return ((0, 0), (int(padding[0]), int(padding[1])))
    raise ConfigError(f'{op} expects padding as "same", "valid", an int or a (left, right) pair '
                      f"of ints >= 0. Received: padding={padding!r}")


def _as_image(op, x):
    x = check_float(op, x=x)
    check_rank(op, "x", x, 3, "(N, C, L)")
    return x[:, :, None, :]


def conv1d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros"):
    """1-D cross-correlation, as torch.nn.functional.conv1d.

    x: (N, C, L), w: (F, C/G, K), b: (F,) or None -> out (N, F, OL),
    OL = (L + 2p - d(K-1) - 1) // s + 1 (2p is left + right for a (left, right) padding;
    "same": OL = ceil(L / s); "valid": p = 0), padding_mode as conv2d_forward's,
    out[n, f, i] = b[f] + sum_{c, k} w[f, c, k] x_pad[n, g*C/G + c, i*s + k*d].
    """
    op = "conv1d_forward"
    w = check_float(op, w=w)
    check_rank(op, "w", w, 3, "(F, C/groups, K)")
    image = _as_image(op, x)
    geometry = window_geometry(op, (1, w.shape[2]), (1, _single(stride, "stride", 1, op)),
                               padding_1d(padding, op), (1, _single(dilation, "dilation", 1, op)))
    check_mode_fits(op, check_padding_mode(op, padding_mode), geometry.sides(image.shape[2:]),
                    image.shape[2:], f"x.shape={image.shape[:2] + image.shape[3:]}")
    out, cache = conv.conv2d_forward(image, w[:, :, None, :], b, groups=groups,
                                     padding_mode=padding_mode, geometry=geometry)
    return out[:, :, 0], (out.shape[:2] + out.shape[3:], cache)


def _as_image_dout(op, dout, cache):
    """dout checked against the 1-D output's shape, as the (N, C, 1, OL) view and the 2-D cache."""
    shape, cache_2d = cache
    return check_dout(op, dout, shape)[:, :, None, :], cache_2d


def conv1d_backward(dout, cache, input_grad=True):
    """(dx (N, C, L), dw (F, C/G, K), db (F,) or None), from conv2d_backward:

        (dx, dw, db) = conv2d_backward(dout[:, :, None, :]) with row 0 of the 1xL view and
        of the 1xK kernel kept: dx = dx_2d[:, :, 0], dw = dw_2d[:, :, 0]
    """
    dx, dw, db = conv.conv2d_backward(*_as_image_dout("conv1d_backward", dout, cache), input_grad)
    return None if dx is None else dx[:, :, 0], dw[:, :, 0], db


def _pool_geometry(op, kernel_size, stride, padding):
    kernel = _single(kernel_size, "kernel_size", 1, op)
    stride = kernel if stride is None else _single(stride, "stride", 1, op)
    return (1, kernel), (1, stride), padding_1d(padding, op)


def max_pool1d_forward(x, kernel_size, stride=None, padding=0, train=True):
    """Max over each window of K steps: (N, C, L) -> (N, C, OL), OL = (L + 2p - K) // s + 1
    ("same": ceil(L / s)); padding is -inf and at most K/2 (PyTorch's rule). See
    pool.max_pool2d_forward."""
    op = "max_pool1d_forward"
    out, cache = pool.max_pool2d_forward(_as_image(op, x), *_pool_geometry(
        op, kernel_size, stride, padding), train=train)
    return out[:, :, 0], (out.shape[:2] + out.shape[3:], cache)


def max_pool1d_backward(dout, cache):
    """dx (N, C, L): each dout routed to its window's maximum (ties: the first)."""
    return pool.max_pool2d_backward(*_as_image_dout("max_pool1d_backward", dout, cache))[:, :, 0]


def avg_pool1d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=None):
    """Mean over each window of K steps: (N, C, L) -> (N, C, OL); zero padding counts in the
    divisor unless count_include_pad=False (None: True for numbers, False for "same"). See
    pool.avg_pool2d_forward."""
    op = "avg_pool1d_forward"
    out, cache = pool.avg_pool2d_forward(_as_image(op, x), *_pool_geometry(
        op, kernel_size, stride, padding), count_include_pad=count_include_pad)
    return out[:, :, 0], (out.shape[:2] + out.shape[3:], cache)


def avg_pool1d_backward(dout, cache):
    """dx (N, C, L): each dout spread evenly over its window."""
    return pool.avg_pool2d_backward(*_as_image_dout("avg_pool1d_backward", dout, cache))[:, :, 0]
