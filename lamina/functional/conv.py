"""Convolution and transposed convolution over NCHW inputs (im2col + batched matmuls).

Both ops share one pair of moves. Gathering: im2col of a padded input, per image a grouped
(G, Cg*KH*KW, L) matrix (L columns per image, see windows.FlatWindows), times a grouped
weight matrix: one batched matmul whose (N, F, L) product is already in NCHW order, so only
the junk columns are cropped, whole rows at a time (with few columns per image the chunk's
images sit side by side instead, one (G, rows, n*L) matrix: BATCH_MAJOR_COLUMNS).
Scattering: the transposed weight matrix times a grouped matrix of the same layout, summed
back by col2im. conv2d's forward gathers and its data-gradient scatters (or, with
stride 1, gathers from dout: a full convolution); conv_transpose2d is the adjoint, so it is
the other way round. Groups split channels in the leading axis, so they cost no copy.

The batch runs in chunks whose im2col matrix stays in cache between its copy and its matmul
(windows.CHUNK_BYTES), on lamina's threads (parallel.run_chunks, bit for bit one thread's):
each chunk writes only its images' part of the output, and a weight or bias gradient is a
sum of the chunks' partial sums, added in chunk order. The caches keep x, not the im2col
matrix, which backward rebuilds chunk by chunk, unless the whole batch's matrix is small
(KEEP_COLS_BYTES): then it is kept.
"""
from lamina.backend import xp
from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout, check_float, check_int, check_rank
from lamina.functional.padding import check_padding_mode, pad2d_backward, pad2d_forward
from lamina.functional.parallel import one_blas_thread, run_chunks
from lamina.functional.windows import (batch_chunks, col2im, flat_windows, from_columns, im2col,
                                       padding_sides, pair, scratch, to_columns, window_geometry)


def _check_arrays(op, x, w, b, groups, weight_layout):
    """Dtype, rank and groups checks shared by both ops; returns x, w, b as arrays, groups as
    an int and the common compute dtype."""
    x, w, b = check_float(op, optional=("b",), x=x, w=w, b=b)
    check_rank(op, "x", x, 4, "(N, C, H, W)")
    check_rank(op, "w", w, 4, weight_layout)
    groups = check_int(op, "groups", groups, 1)
    return x, w, b, groups, xp.result_type(x, w)


def _check_bias(op, b, out_channels):
    """b must be None or hold one value per output channel."""
    if b is not None and b.shape != (out_channels,):
        raise ShapeError(
            f"{op} expects b of shape ({out_channels},), one per output channel. "
            f"Received: b.shape={b.shape}"
        )


# conv2d_forward builds an im2col matrix of up to this size for the whole batch and keeps it
# for backward; larger ones are built chunk by chunk in cache, and again in backward.
# Measured: a kept 5.7 MB matrix (LeNet-5's first conv at batch 64, a fresh array out of
# cache) cost the forward 0.4-1 ms more than it saved the backward; one of a batch of 16
# (1.4 MB) saved 10-15% of forward plus backward. Keeping LeNet-5's two (5.7 and 5.4 MB)
# made its training step 6.5 ms instead of 7.2, but its peak memory 36 MB against
# PyTorch's 30 (13 MB with this limit).
KEEP_COLS_BYTES = 2**21


def _parts(windows, n, rows, dtype):
    """The batch in slices whose (rows, chunk * L) im2col matrix is ~CHUNK_BYTES."""
    return batch_chunks(n, rows * windows.columns * dtype.itemsize)


# The chunks run on lamina's threads from this many multiply-adds in one product over the
# batch (F * C/G*KH*KW * N*L). Measured on 2 cores: LeNet-5's convolutions (9-86 M, batch 64
# and 256: few filters, short columns, the work mostly copies that share the memory) and
# the decoder's last (27 M) ran no faster on two threads, or 10-15% slower with another
# process busy; from the decoder's first (150 M) through the CIFAR CNN's (0.6 G) two threads
# ran 1.2-1.6x faster.
PARALLEL_MULTIPLY_ADDS = 10**8


def _run(chunk, parts, multiply_adds):
    """chunk(part) for every part, results in order: on lamina's threads where the work
    pays, else here with BLAS at one thread (too small to split: under load a split product
    waiting on a busy core was measured 10x slower)."""
    if multiply_adds >= PARALLEL_MULTIPLY_ADDS:
        return run_chunks(chunk, parts)
    with one_blas_thread():
        return [chunk(part) for part in parts]


# A chunk whose images have fewer output columns than this is laid out batch-major: each
# matrix is (G, rows, n*L), so a product runs over the chunk's n*L columns at once (the
# weight gradient too); measured on a 64->64 3x3 stride-2 conv of 16x16 images (72 columns),
# n short per-image products (and their sum) cost 1.1-1.25x that. Elsewhere matrices are
# image-major, (n, G, rows, L): a product is then in NCHW order, and only its junk columns
# are cropped (measured against batch-major: LeNet-5's small-K products 2x faster per image,
# the CIFAR CNN's second conv at batch 256 10% faster forward, the rest within the noise).
BATCH_MAJOR_COLUMNS = 128


def _layout(name, n, rows, windows, dtype, batch_major):
    """A scratch matrix for n images of `rows` rows of L columns: (its (n, rows, L) view, the
    matrix itself), batch-major (rows, n*L) or image-major (n, rows, L)."""
    if batch_major:
        matrix = scratch(name, (rows, n, windows.columns), dtype)
        return matrix.transpose(1, 0, 2), matrix.reshape(rows, n * windows.columns)
    matrix = scratch(name, (n, rows, windows.columns), dtype)
    return matrix, matrix


def _grouped(matrix, n, groups):
    """A batch-major (rows, n*L) or image-major (n, rows, L) matrix as grouped matrices for
    matmul: (G, rows/G, n*L) or (n, G, rows/G, L)."""
    if matrix.ndim == 2:
        return matrix.reshape(groups, matrix.shape[0] // groups, matrix.shape[1])
    return matrix.reshape(n, groups, matrix.shape[1] // groups, matrix.shape[2])


def _images(product, n):
    """A grouped product, (G, r, n*L) or (n, G, r, L), as its (n, G*r, L) view."""
    if product.ndim == 3:
        rows, columns = product.shape[0] * product.shape[1], product.shape[2] // max(1, n)
        return product.reshape(rows, n, columns).transpose(1, 0, 2)
    return product.reshape(n, product.shape[1] * product.shape[2], product.shape[3])


def _im2col(name, array, windows, groups, batch_major=False, into=None):
    """im2col of array (N, C, H, W) into scratch `name` (or into `into`, (N, C*KH*KW, L)),
    grouped: batch-major (G, C/G*KH*KW, N*L) or image-major (N, G, C/G*KH*KW, L)."""
    n, channels = array.shape[:2]
    if into is not None:
        view, matrix = into, into
    else:
        view, matrix = _layout(name, n, channels * len(windows.taps), windows, array.dtype,
                               batch_major)
    im2col(array, windows, view.reshape(n, channels, len(windows.taps), windows.columns))
    return _grouped(matrix, n, groups)


def _to_columns(name, array, windows, groups, batch_major=False):
    """array (N, F, OH, OW) in scratch `name`, junk zero, grouped as _im2col's."""
    n, filters, rows, _ = array.shape
    view, matrix = _layout(name, n, filters, windows, array.dtype, batch_major)
    to_columns(array, windows, view.reshape(n, filters, rows, windows.grid_hw[1]))
    return _grouped(matrix, n, groups)


def _product(left, right, name="product"):
    """left @ right for grouped (G, rows, k) and (N, G, k, cols) matrices (either may be the
    one with N), in scratch `name`: (N, G, rows, cols)."""
    shape = xp.broadcast_shapes(left.shape[:-2], right.shape[:-2]) + (left.shape[-2],
                                                                       right.shape[-1])
    return xp.matmul(left, right, out=scratch(name, shape, left.dtype))


def _weight_sums(left, right):
    """left @ right^T summed over the chunk's columns, for grouped (G, a, n*L) and (G, b, n*L)
    or (n, G, a, L) and (n, G, b, L) (then summed over images too): (G, a, b), one chunk's
    part of a weight gradient (fresh: the chunks' parts are added)."""
    if left.ndim == 3:
        return left @ right.transpose(0, 2, 1)
    return _product(left, right.transpose(0, 1, 3, 2), "image_products").sum(axis=0)


def _chunk_sum(partials):
    """Per-chunk partial sums added in chunk order (the same on any number of threads)."""
    total = partials[0].copy()
    for partial in partials[1:]:
        total += partial
    return total


def _bias_sums(dout, dtype):
    """db over one chunk, sum of dout[:, f] over (n, H, W), or None without a bias."""
    if dtype is None:
        return None
    return dout.reshape(dout.shape[0], dout.shape[1], dout.shape[2] * dout.shape[3]).sum(axis=2) \
        .sum(axis=0)


def _bias_grad(partials, dtype):
    """db from the chunks' _bias_sums, in dtype (None without a bias)."""
    return None if dtype is None else _chunk_sum(partials).astype(dtype, copy=False)


def _cast(array, dtype):
    return None if array is None else array.astype(dtype, copy=False)


def _weight(grad, kernel, dtype):
    """A grouped (G, rows, cols) weight gradient as the 4-D weight's shape, in dtype."""
    return grad.reshape(grad.shape[0] * grad.shape[1], -1, *kernel).astype(dtype, copy=False)


def _geometry(op, w, stride, padding, dilation, geometry):
    """The WindowGeometry of w's kernel: `geometry` when given (its kernel must be w's), else
    one built from stride, padding and dilation."""
    if geometry is None:
        return window_geometry(op, w.shape[2:], stride, padding, dilation)
    if geometry.kernel != w.shape[2:]:
        raise ShapeError(f"{op} expects w with the geometry's kernel {geometry.kernel}. "
                         f"Received: w.shape={w.shape}")
    return geometry


def _edge_padded(op, x, geometry, padding_mode):
    """(x, geometry, pad cache): for padding_mode "zeros" x as it is (im2col pads it without a
    copy), else x padded by the geometry in that mode and a geometry without padding."""
    if padding_mode == "zeros" or check_padding_mode(op, padding_mode) == "zeros":
        return x, geometry, None
    (top, bottom), (left, right) = padding_sides(geometry.padding)
    x, pad_cache = pad2d_forward(x, (left, right, top, bottom), padding_mode, op=op)
    return x, geometry._replace(padding=(0, 0)), pad_cache


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros",
                   geometry=None):
    """2-D cross-correlation, as torch.nn.functional.conv2d.

    x: (N, C, H, W), w: (F, C/G, KH, KW), b: (F,) or None -> out: (N, F, OH, OW),
    OH = (H + 2*ph - dh*(KH-1) - 1) // sh + 1 (likewise OW). padding: ints, pairs,
    ((top, bottom), (left, right)) (2*ph is then top + bottom), "valid" (none) or "same"
    (OH = ceil(H / sh), Keras' rule, the odd pixel at the bottom/right: windows.same_sides). padding_mode: "zeros", or
    "reflect", "replicate", "circular" as torch.nn.Conv2d's (see padding.pad2d_forward); the
    backward folds x_pad's gradient back onto x. With G groups, output channel
    f sees only the Cg = C/G input channels of its group g = f // (F/G):

        out[n, f, i, j] = b[f] + sum_{c,p,q} w[f,c,p,q] * x_pad[n, g*Cg+c, i*sh+p*dh, j*sw+q*dw]

    Computed as out_g = W_g @ cols_g per group in one batched matmul, with
    W_g: (F/G, C/G*KH*KW) and cols_g = im2col(x_pad)_g: (C/G*KH*KW, N*L), L = OH*Wq output
    columns per image of which OW per row are real (see windows.FlatWindows).
    geometry (a windows.WindowGeometry, built once by a layer) replaces stride, padding and
    dilation.
    """
    op = "conv2d_forward"
    x, w, b, groups, dtype = _check_arrays(op, x, w, b, groups, "(F, C/groups, KH, KW)")
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
    geometry = _geometry(op, w, stride, padding, dilation, geometry).for_input(x.shape[2:])
    out_hw = geometry.output_hw(x.shape[2:], op, f"x.shape={x.shape}, w.shape={w.shape}")
    x, geometry, pad_cache = _edge_padded(op, x, geometry, padding_mode)
    kernel, stride, padding, dilation = geometry
    windows = flat_windows(x.shape[2:], kernel, stride, padding, dilation, out_hw)
    w_mat = w.astype(dtype, copy=False).reshape(groups, filters // groups, -1)
    bias = None if b is None else b.astype(dtype, copy=False)
    x_cast = x.astype(dtype, copy=False)
    n, taps = x.shape[0], len(windows.taps)
    out = xp.empty((n, filters) + out_hw, dtype)
    keep = (n * channels * taps * windows.columns * dtype.itemsize <= KEEP_COLS_BYTES
            and _full_padding(geometry, filters, channels) is None)  # backward uses the cols
    kept = xp.empty((n, channels * taps, windows.columns), dtype) if keep else None
    major = kept is None and windows.columns < BATCH_MAJOR_COLUMNS
    direct = not major and windows.grid_hw[1] == out_hw[1]  # no junk: the product is the output

    def chunk(part):  # im2col, product and crop of one chunk of images, into out[part]
        images = x_cast[part].shape[0]
        cols = _im2col("cols", x_cast[part], windows, groups, major,
                       None if kept is None else kept[part])
        if direct:
            xp.matmul(w_mat, cols, out=out[part].reshape(images, groups, filters // groups,
                                                          windows.columns))
            if bias is not None:
                out[part] += bias[:, None, None]
        else:
            product = _product(w_mat, cols)
            if bias is not None:  # on the product the add is contiguous: measured 1.3x faster
                rows = product.reshape(images if product.ndim == 4 else 1, filters,
                                       product.shape[-1])
                rows += bias[:, None]
            from_columns(_images(product, images), windows, out[part])

    _run(chunk, _parts(windows, n, channels * taps, dtype), w_mat.size * n * windows.columns)
    dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
    return out, (x_cast, kept, w_mat, windows, geometry, dtypes, pad_cache)


def conv2d_backward(dout, cache, input_grad=True):
    """Gradients of conv2d_forward: dx (N, C, H, W), dw (F, C/G, KH, KW), db (F,) or None.

    Per group, with dout_g: (F/G, N*L) (junk columns zero) and cols_g (kept or rebuilt):
        dW_g = dout_g @ cols_g^T,   db[f] = sum_{n,i,j} dout[n, f, i, j]
        dx = crop(col2im(W_g^T @ dout_g)): each window's gradient summed back where it was read.
    With stride 1, dx is the full convolution of dout with the flipped kernel,
        dx = conv2d(pad(dout, dh*(KH-1) - ph), w[:, :, ::-1, ::-1] with F and C swapped),
    and with F <= 2C both come from one im2col of dout that way (_full_conv_backward).
    With a padding_mode other than zeros, x above is the padded input and dx its gradient
    folded back (padding.pad2d_backward).
    input_grad=False skips dx (returned as None): the first layer of a model never needs it.
    """
    x, kept, w_mat, windows, geometry, dtypes, pad_cache = cache
    n, channels = x.shape[:2]
    groups, filters = w_mat.shape[0], w_mat.shape[0] * w_mat.shape[1]
    dout = check_dout("conv2d_backward", dout, (n, filters) + windows.out_hw)
    dout = dout.astype(w_mat.dtype, copy=False)
    full = _full_padding(geometry, filters, channels)
    taps = len(windows.taps)
    if input_grad and full is not None:
        dx, dw, db = _full_conv_backward(x, dout, w_mat, geometry, full, dtypes[2])
    else:
        dx = xp.empty(x.shape, w_mat.dtype) if input_grad else None
        major = kept is None and windows.columns < BATCH_MAJOR_COLUMNS

        def chunk(part):  # one chunk's dW and db partial sums, and its images' dx
            images = dout[part].shape[0]
            cols = (_im2col("cols", x[part], windows, groups, major) if kept is None
                    else _grouped(kept[part], images, groups))
            dout_mat = _to_columns("dout", dout[part], windows, groups, major)
            dw = _weight_sums(cols, dout_mat)
            if input_grad:
                dcols = _images(_product(w_mat.transpose(0, 2, 1), dout_mat), images)
                col2im(dcols.reshape(images, channels, taps, windows.columns), windows, dx[part])
            return dw, _bias_sums(dout[part], dtypes[2])

        dws, dbs = zip(*_run(chunk, _parts(windows, n, channels * taps, w_mat.dtype),
                             w_mat.size * n * windows.columns))
        dw, db = _chunk_sum(dws).transpose(0, 2, 1), _bias_grad(dbs, dtypes[2])
    if dx is not None and pad_cache is not None:
        dx = pad2d_backward(dx, pad_cache)
    return _cast(dx, dtypes[0]), _weight(dw, geometry[0], dtypes[1]), db


def _full_padding(geometry, filters, channels):
    """dout's padding for _full_conv_backward, or None where that path does not apply."""
    kernel, stride, padding, dilation = geometry
    if stride != (1, 1) or filters > 2 * channels:
        return None
    (top, bottom), (left, right) = padding_sides(padding)
    reach = (dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1))
    full = ((reach[0] - top, reach[0] - bottom), (reach[1] - left, reach[1] - right))
    return full if min(min(full[0]), min(full[1])) >= 0 else None


def _full_conv_backward(x, dout, w_mat, geometry, full, b_dtype):
    """dx, dW (grouped, as w_mat) and db of a stride-1 conv2d from one im2col of dout.

    dx is the full convolution of dout, padded by dh*(KH-1) - top above and dh*(KH-1) - bottom
    below (likewise W), with the flipped kernel:
    dx = conv2d(dout_pad, flip(W)^T), a matmul over the dout columns D (F*KH*KW rows, built
    by copies only). The same D gives the weight gradient,
    dW[f, c, p, q] = (D @ x_cols^T)[(f, KH-1-p, KW-1-q), c], with x laid out as columns (one
    copy, not an im2col of x). Measured, this beats an im2col of x plus col2im's C*KH*KW rows
    of slice-adds while F <= 2C.
    """
    kernel, _, _, dilation = geometry
    n, channels = x.shape[:2]
    groups, taps = w_mat.shape[0], kernel[0] * kernel[1]
    windows = flat_windows(dout.shape[2:], kernel, (1, 1), full, dilation, x.shape[2:])
    flipped = w_mat.reshape(groups, -1, channels // groups, taps)[..., ::-1]
    flipped = flipped.transpose(0, 2, 1, 3).reshape(groups, channels // groups, -1)
    dx = xp.empty(x.shape, w_mat.dtype)

    major = windows.columns < BATCH_MAJOR_COLUMNS

    def chunk(part):  # one chunk's dW_flipped and db partial sums, and its images' dx
        dout_cols = _im2col("dout_cols", dout[part], windows, groups, major)
        dw_flipped = _weight_sums(dout_cols, _to_columns("x", x[part], windows, groups, major))
        from_columns(_images(_product(flipped, dout_cols), x[part].shape[0]), windows, dx[part])
        return dw_flipped, _bias_sums(dout[part], b_dtype)

    dws, dbs = zip(*_run(chunk, _parts(windows, n, dout.shape[1] * taps, w_mat.dtype),
                         w_mat.size * n * windows.columns))
    dw = _chunk_sum(dws).reshape(groups, -1, taps, channels // groups)[:, :, ::-1]
    return dx, dw.transpose(0, 1, 3, 2).reshape(w_mat.shape), _bias_grad(dbs, b_dtype)


def conv_transpose2d_forward(x, w, b, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                             *, geometry=None):
    """2-D transposed convolution (the data-gradient of conv2d), as torch's conv_transpose2d.

    x: (N, C, H, W), w: (C, F/G, KH, KW), b: (F,) or None -> out: (N, F, OH, OW),
    OH = (H - 1)*sh - 2*ph + dh*(KH-1) + oph + 1 (likewise OW). Each input pixel scatters
    a weighted, dilated kernel into the output; per group, with x_g: (C/G, N*L) (x laid out
    as an im2col matrix of the output, junk columns zero) and W_g: (C/G, F/G*KH*KW):

        out = crop_p(col2im(W_g^T @ x_g)) + b,   col2im into (N, F, OH + 2*ph, OW + 2*pw)

    output_padding (< stride or < dilation) adds rows/columns at the bottom/right. padding
    may be per side, or "same": OH = H*sh, as Keras' Conv2DTranspose (output_padding 0; see
    windows.WindowGeometry.transposed_for_input).
    geometry (a windows.WindowGeometry) replaces stride, padding and dilation.
    """
    op = "conv_transpose2d_forward"
    x, w, b, groups, dtype = _check_arrays(op, x, w, b, groups, "(C, F/groups, KH, KW)")
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
    geometry = _geometry(op, w, stride, padding, dilation, geometry)
    kernel, stride, padding, dilation = geometry
    extra = pair(output_padding, "output_padding", 0, op)
    if any(extra[i] >= max(stride[i], dilation[i]) for i in range(2)):
        raise ConfigError(
            f"{op} expects output_padding smaller than stride or dilation. Received: "
            f"output_padding={extra}, stride={stride}, dilation={dilation}"
        )
    in_hw = x.shape[2:]
    geometry, extra = geometry.transposed_for_input(in_hw, extra, op)
    kernel, stride, padding, dilation = geometry
    out_hw = geometry.transposed_output_hw(in_hw, extra, op,
                                           f"x.shape={x.shape}, w.shape={w.shape}")
    windows = flat_windows(out_hw, kernel, stride, padding, dilation, in_hw)
    w_mat = w.astype(dtype, copy=False).reshape(groups, channels // groups, -1)
    x_cast = x.astype(dtype, copy=False)
    bias = None if b is None else b.astype(dtype, copy=False)
    out = xp.empty((x.shape[0], filters) + out_hw, dtype)

    major = windows.columns < BATCH_MAJOR_COLUMNS

    def chunk(part):  # product and col2im of one chunk of images, into out[part]
        x_mat = _to_columns("x", x_cast[part], windows, groups, major)
        cols = _images(_product(w_mat.transpose(0, 2, 1), x_mat), x_cast[part].shape[0])
        col2im(cols.reshape(cols.shape[0], filters, len(windows.taps), windows.columns), windows,
               out[part])
        if bias is not None:
            out[part] += bias[:, None, None]

    _run(chunk, _parts(windows, x.shape[0], groups * w_mat.shape[2], dtype),
         w_mat.size * x.shape[0] * windows.columns)
    dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
    return out, (x_cast, w_mat, windows, geometry, dtypes)


def conv_transpose2d_backward(dout, cache, input_grad=True):
    """Gradients of conv_transpose2d_forward: dx (N, C, H, W), dw (C, F/G, KH, KW), db (F,).

    The adjoint of the forward's col2im is im2col of the padded dout, with the output size
    forced to the input's (H, W) (output_padding rows are never read). Per group:
        dx_g = W_g @ cols_g,   dW_g = x_g @ cols_g^T,   db[f] = sum_{n,i,j} dout[n, f, i, j]
    input_grad=False skips dx (returned as None).
    """
    x, w_mat, windows, (kernel, _, _, _), (x_dtype, w_dtype, b_dtype) = cache
    n, channels = x.shape[:2]
    groups = w_mat.shape[0]
    filters = groups * w_mat.shape[2] // len(windows.taps)
    dout = check_dout("conv_transpose2d_backward", dout, (n, filters) + windows.real_hw)
    dout = dout.astype(w_mat.dtype, copy=False)
    dx = xp.empty(x.shape, w_mat.dtype) if input_grad else None

    major = windows.columns < BATCH_MAJOR_COLUMNS

    def chunk(part):  # one chunk's dW and db partial sums, and its images' dx
        cols = _im2col("cols", dout[part], windows, groups, major)
        dw = _weight_sums(cols, _to_columns("x", x[part], windows, groups, major))
        if input_grad:
            from_columns(_images(_product(w_mat, cols), x[part].shape[0]), windows, dx[part])
        return dw, _bias_sums(dout[part], b_dtype)

    dws, dbs = zip(*_run(chunk, _parts(windows, n, groups * w_mat.shape[2], w_mat.dtype),
                         w_mat.size * n * windows.columns))
    dw = _chunk_sum(dws).transpose(0, 2, 1)
    return _cast(dx, x_dtype), _weight(dw, kernel, w_dtype), _bias_grad(dbs, b_dtype)
