"""1-D convolution and pools over (N, C, L) inputs: the 2-D kernels over an (N, C, 1, L) view.

One set of window machinery (im2col, geometry, error messages) serves both: a length-L
signal is a 1xL image and a size-K kernel a 1xK one, so no formula is written twice.
"""

from lamina.functional import conv, pool
from lamina.functional.checks import check_dout, check_float, check_int, check_rank


def _single(value, name, minimum, op):
    """An int geometry argument as the (1, value) pair of the 2-D kernels (0 for padding)."""
    return check_int(op, name, value, minimum)


def _as_image(op, x):
    x = check_float(op, x=x)
    check_rank(op, "x", x, 3, "(N, C, L)")
    return x[:, :, None, :]


def conv1d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation, as torch.nn.functional.conv1d.

    x: (N, C, L), w: (F, C/G, K), b: (F,) or None -> out (N, F, OL),
    OL = (L + 2p - d(K-1) - 1) // s + 1,
    out[n, f, i] = b[f] + sum_{c, k} w[f, c, k] x_pad[n, g*C/G + c, i*s + k*d].
    """
    op = "conv1d_forward"
    w = check_float(op, w=w)
    check_rank(op, "w", w, 3, "(F, C/groups, K)")
    geometry = [(1, _single(value, name, low, op)) for value, name, low in
                ((stride, "stride", 1), (padding, "padding", 0), (dilation, "dilation", 1))]
    geometry[1] = (0, geometry[1][1])
    out, cache = conv.conv2d_forward(_as_image(op, x), w[:, :, None, :], b, *geometry, groups)
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
    return (1, kernel), (1, stride), (0, _single(padding, "padding", 0, op))


def max_pool1d_forward(x, kernel_size, stride=None, padding=0, train=True):
    """Max over each window of K steps: (N, C, L) -> (N, C, OL), OL = (L + 2p - K) // s + 1;
    padding is -inf and at most K/2 (PyTorch's rule). See pool.max_pool2d_forward."""
    op = "max_pool1d_forward"
    out, cache = pool.max_pool2d_forward(_as_image(op, x), *_pool_geometry(
        op, kernel_size, stride, padding), train=train)
    return out[:, :, 0], (out.shape[:2] + out.shape[3:], cache)


def max_pool1d_backward(dout, cache):
    """dx (N, C, L): each dout routed to its window's maximum (ties: the first)."""
    return pool.max_pool2d_backward(*_as_image_dout("max_pool1d_backward", dout, cache))[:, :, 0]


def avg_pool1d_forward(x, kernel_size, stride=None, padding=0):
    """Mean over each window of K steps, zero padding counted: (N, C, L) -> (N, C, OL)."""
    op = "avg_pool1d_forward"
    out, cache = pool.avg_pool2d_forward(_as_image(op, x), *_pool_geometry(
        op, kernel_size, stride, padding))
    return out[:, :, 0], (out.shape[:2] + out.shape[3:], cache)


def avg_pool1d_backward(dout, cache):
    """dx (N, C, L): each dout spread evenly over its window."""
    return pool.avg_pool2d_backward(*_as_image_dout("avg_pool1d_backward", dout, cache))[:, :, 0]
