"""Convolution and transposed convolution over NCHW inputs (im2col + one batched matmul).

Both ops share one pair of moves. Gathering: im2col of a padded input, reshaped to
(G, Cg*KH*KW, N*OH*OW), times a grouped weight matrix. Scattering: the transposed weight
matrix times a grouped (G, rows, N*H*W) matrix, summed back by col2im. conv2d's forward
gathers and its data-gradient scatters; conv_transpose2d is the adjoint, so it is the other
way round. Groups split channels in the leading axis, so they cost no copy.
"""

from lamina.backend import xp
from lamina.errors import ConfigError, ShapeError
from lamina.functional._checks import check_dout, check_float, check_rank
from lamina.functional._windows import col2im, im2col, output_hw, pad2d, pair, unpad2d


def _check_arrays(op, x, w, b, groups, weight_layout):
    """Dtype, rank and groups checks shared by both ops; returns the common compute dtype."""
    check_float(op, x=x, w=w, b=b)
    check_rank(op, "x", x, 4, "(N, C, H, W)")
    check_rank(op, "w", w, 4, weight_layout)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ConfigError(f"{op} expects groups as an int >= 1. Received: groups={groups!r}")
    return xp.result_type(x, w)


def _check_bias(op, b, out_channels):
    """b must be None or hold one value per output channel."""
    if b is not None and b.shape != (out_channels,):
        raise ShapeError(
            f"{op} expects b of shape ({out_channels},), one per output channel. "
            f"Received: b.shape={b.shape}"
        )


def _to_groups(array, groups):
    """(N, C, H, W) -> (G, C/G, N*H*W), the right operand of a grouped matmul."""
    n, c, h, w = array.shape
    return array.transpose(1, 0, 2, 3).reshape(groups, c // groups, n * h * w)


def _from_groups(matrix, n, hw):
    """(G, Cg, N*H*W) -> an (N, G*Cg, H, W) view."""
    return matrix.reshape(-1, n, *hw).transpose(1, 0, 2, 3)


def _finish(array, dtype, bias=None):
    """A contiguous copy of `array` in `dtype`, plus the per-channel bias."""
    out = xp.ascontiguousarray(array, dtype=dtype)
    if bias is not None:
        out += bias.astype(dtype, copy=False)[:, None, None]
    return out


def _weight_grad(left, cols, w_mat, kernel, dtype):
    """left_g @ cols_g^T for every group, reshaped to the 4-D weight's shape."""
    grad = left @ cols.transpose(0, 2, 1)
    return grad.reshape(w_mat.shape[0] * w_mat.shape[1], -1, *kernel).astype(dtype, copy=False)


def _gather(padded, w_mat, geometry, out_hw):
    """cols = im2col(padded) as (G, Cg*KH*KW, N*OH*OW), and w_mat @ cols."""
    kernel, stride, _, dilation = geometry
    cols = im2col(padded, kernel, stride, dilation, out_hw)
    cols = cols.reshape(w_mat.shape[0], w_mat.shape[2], -1)
    return cols, w_mat @ cols


def _scatter(w_mat, matrix, padded_shape, geometry, cols_hw):
    """col2im(w_mat^T @ matrix) into the padded (N, C, Hp, Wp) buffer, padding cropped."""
    kernel, stride, padding, dilation = geometry
    n, c = padded_shape[:2]
    cols = (w_mat.transpose(0, 2, 1) @ matrix).reshape(c, *kernel, n, *cols_hw)
    return unpad2d(col2im(cols, padded_shape, kernel, stride, dilation), padding)


def _geometry(op, kernel, stride, padding, dilation):
    """(kernel, stride, padding, dilation) as (height, width) pairs, validated."""
    return (tuple(kernel), pair(stride, "stride", 1, op), pair(padding, "padding", 0, op),
            pair(dilation, "dilation", 1, op))


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as torch.nn.functional.conv2d.

    x: (N, C, H, W), w: (F, C/G, KH, KW), b: (F,) or None -> out: (N, F, OH, OW),
    OH = (H + 2*ph - dh*(KH-1) - 1) // sh + 1 (likewise OW). With G groups, output channel
    f sees only the Cg = C/G input channels of its group g = f // (F/G):

        out[n, f, i, j] = b[f] + sum_{c,p,q} w[f,c,p,q] * x_pad[n, g*Cg+c, i*sh+p*dh, j*sw+q*dw]

    Computed as out_g = W_g @ cols_g per group in one batched matmul, with
    W_g: (F/G, C/G*KH*KW) and cols_g = im2col(x_pad)_g: (C/G*KH*KW, N*OH*OW).
    """
    op = "conv2d_forward"
    dtype = _check_arrays(op, x, w, b, groups, "(F, C/groups, KH, KW)")
    filters, channels = w.shape[0], x.shape[1]
    if filters % groups or channels % groups:
        raise ConfigError(
            f"{op} expects in and out channels divisible by groups. "
            f"Received: x.shape={x.shape}, w.shape={w.shape}, groups={groups}"
        )
    if channels != w.shape[1] * groups:
        raise ShapeError(
            f"{op} expects x with w.shape[1] * groups = {w.shape[1] * groups} channels. "
            f"Received: x.shape={x.shape}, w.shape={w.shape}, groups={groups}"
        )
    _check_bias(op, b, filters)
    geometry = _geometry(op, w.shape[2:], stride, padding, dilation)
    kernel, stride, padding, dilation = geometry
    out_hw = output_hw(x.shape[2:], kernel, stride, padding, dilation, op)
    w_mat = w.astype(dtype, copy=False).reshape(groups, filters // groups, -1)
    x_padded = pad2d(x.astype(dtype, copy=False), padding)
    cols, out = _gather(x_padded, w_mat, geometry, out_hw)
    out = _finish(_from_groups(out, x.shape[0], out_hw), dtype, b)
    dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
    return out, (x_padded.shape, w_mat, cols, geometry, dtypes, out.shape)


def conv2d_backward(dout, cache):
    """Gradients of conv2d_forward: dx (N, C, H, W), dw (F, C/G, KH, KW), db (F,) or None.

    Per group, with dout_g: (F/G, N*OH*OW):
        dW_g = dout_g @ cols_g^T,   dcols_g = W_g^T @ dout_g,   db[f] = sum_{n,i,j} dout[n, f, i, j]
    and dx = crop(col2im(dcols)): each window's gradient is summed back where it was read.
    """
    padded_shape, w_mat, cols, geometry, (x_dtype, w_dtype, b_dtype), out_shape = cache
    dout = check_dout("conv2d_backward", dout, out_shape)
    dout_mat = _to_groups(dout.astype(w_mat.dtype, copy=False), w_mat.shape[0])
    dx = _finish(_scatter(w_mat, dout_mat, padded_shape, geometry, dout.shape[2:]), x_dtype)
    dw = _weight_grad(dout_mat, cols, w_mat, geometry[0], w_dtype)
    db = None if b_dtype is None else dout.sum(axis=(0, 2, 3)).astype(b_dtype, copy=False)
    return dx, dw, db


def conv_transpose2d_forward(x, w, b, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """2-D transposed convolution (the data-gradient of conv2d), as torch's conv_transpose2d.

    x: (N, C, H, W), w: (C, F/G, KH, KW), b: (F,) or None -> out: (N, F, OH, OW),
    OH = (H - 1)*sh - 2*ph + dh*(KH-1) + oph + 1 (likewise OW). Each input pixel scatters
    a weighted, dilated kernel into the output; per group, with x_g: (C/G, N*H*W) and
    W_g: (C/G, F/G*KH*KW):

        out = crop_p(col2im(W_g^T @ x_g)) + b,   col2im into (N, F, OH + 2*ph, OW + 2*pw)

    output_padding (< stride or < dilation) adds rows/columns at the bottom/right.
    """
    op = "conv_transpose2d_forward"
    dtype = _check_arrays(op, x, w, b, groups, "(C, F/groups, KH, KW)")
    channels = x.shape[1]
    if channels != w.shape[0]:
        raise ShapeError(
            f"{op} expects x with w.shape[0] = {w.shape[0]} channels. "
            f"Received: x.shape={x.shape}, w.shape={w.shape}"
        )
    if channels % groups:
        raise ConfigError(
            f"{op} expects in channels divisible by groups. "
            f"Received: x.shape={x.shape}, groups={groups}"
        )
    filters = w.shape[1] * groups
    _check_bias(op, b, filters)
    geometry = _geometry(op, w.shape[2:], stride, padding, dilation)
    kernel, stride, padding, dilation = geometry
    extra = pair(output_padding, "output_padding", 0, op)
    if any(extra[i] >= max(stride[i], dilation[i]) for i in range(2)):
        raise ConfigError(
            f"{op} expects output_padding smaller than stride or dilation. Received: "
            f"output_padding={extra}, stride={stride}, dilation={dilation}"
        )
    in_hw = x.shape[2:]
    full_hw = tuple((in_hw[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 + extra[i]
                    for i in range(2))
    if min(full_hw[i] - 2 * padding[i] for i in range(2)) < 1:
        raise ShapeError(
            f"{op}: padding {padding} crops away the whole {full_hw[0]}x{full_hw[1]} output. "
            f"Received: x.shape={x.shape}, w.shape={w.shape}"
        )
    w_mat = w.astype(dtype, copy=False).reshape(groups, channels // groups, -1)
    x_mat = _to_groups(x.astype(dtype, copy=False), groups)
    out = _scatter(w_mat, x_mat, (x.shape[0], filters) + full_hw, geometry, in_hw)
    out = _finish(out, dtype, b)
    dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
    return out, (in_hw, x_mat, w_mat, geometry, dtypes, out.shape)


def conv_transpose2d_backward(dout, cache):
    """Gradients of conv_transpose2d_forward: dx (N, C, H, W), dw (C, F/G, KH, KW), db (F,).

    The adjoint of the forward's col2im is im2col of the padded dout, with the output size
    forced to the input's (H, W) (output_padding rows are never read). Per group:
        dx_g = W_g @ cols_g,   dW_g = x_g @ cols_g^T,   db[f] = sum_{n,i,j} dout[n, f, i, j]
    """
    in_hw, x_mat, w_mat, geometry, (x_dtype, w_dtype, b_dtype), out_shape = cache
    dout = check_dout("conv_transpose2d_backward", dout, out_shape)
    dout_padded = pad2d(dout.astype(w_mat.dtype, copy=False), geometry[2])
    cols, dx = _gather(dout_padded, w_mat, geometry, in_hw)
    dx = _finish(_from_groups(dx, dout.shape[0], in_hw), x_dtype)
    dw = _weight_grad(x_mat, cols, w_mat, geometry[0], w_dtype)
    db = None if b_dtype is None else dout.sum(axis=(0, 2, 3)).astype(b_dtype, copy=False)
    return dx, dw, db
