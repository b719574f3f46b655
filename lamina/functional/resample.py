"""Separable resampling shared by adaptive pooling and upsampling (NCHW).

A 1-D resampling along H, then one along W. Each is a few *taps*,
out[i] = sum_t weight_t[i] * x[index_t[i]], with every index_t non-decreasing in i. The forward
gathers once per tap (np.take); the backward, its adjoint, gathers too: input p collects the
run of outputs that read it (contiguous, the indices being sorted), one adjoint tap per offset
in that run. Loops run over taps, never over pixels.
"""

import numpy as np

from lamina.functional.checks import check_dout


def _along(weight, x, axis):
    """A per-position weight (O,) shaped to broadcast along `axis` of x."""
    return weight.reshape(weight.shape + (1,) * (x.ndim - 1 - axis))


def resample(x, axis, taps):
    """out[.., i, ..] = sum over taps (index, weight) of weight[i] * x[.., index[i], ..]."""
    out = None
    for index, weight in taps:
        term = np.take(x, index, axis)
        if weight is not None:  # None: weight 1 (nearest)
            term *= _along(weight, term, axis)
        out = term if out is None else np.add(out, term, out=out)
    return out


def adjoint_taps(taps, size, dtype):
    """Taps of the backward of resample over a `size`-long axis, again gathers. The outputs
    that read input p form a run [first, stop) (the indices are sorted); adjoint tap r reads
    output first + r with the summed weight of the forward taps that link it to p (0 past
    the run's end)."""
    inputs, out_size = np.arange(size), len(taps[0][0])
    first = np.min([np.searchsorted(index, inputs, "left") for index, _ in taps], axis=0)
    stop = np.max([np.searchsorted(index, inputs, "right") for index, _ in taps], axis=0)
    adjoint = []
    for r in range(int((stop - first).max())):
        reads = np.minimum(first + r, out_size - 1)
        weight = sum((index[reads] == inputs) * (1 if w is None else w[reads]) for index, w in taps)
        adjoint.append((reads, np.where(first + r < stop, weight, 0).astype(dtype)))
    return adjoint


def separable_forward(x, taps_h, taps_w):
    """x (N, C, H, W) resampled along H by taps_h, then along W by taps_w, and the cache
    separable_backward takes."""
    return resample(resample(x, 2, taps_h), 3, taps_w), (x.shape, x.dtype, taps_h, taps_w)


def separable_backward(op, dout, cache):
    """dx (N, C, H, W) of separable_forward: the adjoint taps along W, then along H."""
    x_shape, x_dtype, taps_h, taps_w = cache
    out_shape = x_shape[:2] + (len(taps_h[0][0]), len(taps_w[0][0]))
    dout = check_dout(op, dout, out_shape).astype(x_dtype, copy=False)
    rows = resample(dout, 3, adjoint_taps(taps_w, x_shape[3], x_dtype))
    return resample(rows, 2, adjoint_taps(taps_h, x_shape[2], x_dtype))
