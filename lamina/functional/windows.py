"""Sliding-window geometry shared by convolution and pooling (NCHW).

One place derives output sizes (WindowGeometry, built once by window_geometry or
pool_geometry, with the one error for a window that does not fit), pads, and walks the KHxKW
kernel positions, so each kernel stays short. Loops run over KH*KW, never over batch items or
pixels.

Pooling reads windows as strided views: kernel position (kh, kw) sees, for every output pixel
at once, ``x_p[:, :, kh*dh : kh*dh + sh*(OH-1) + 1 : sh, kw*dw : ... : sw]``, no copy.
Convolution copies windows into an im2col matrix for one big matmul; there the copy is the
cost, so the padded input is laid out flat (``FlatWindows``) to make each copied window one
contiguous run, and the batch is processed in cache-sized chunks with reused buffers.
"""
import math
import threading
from typing import NamedTuple

import numpy as np

from lamina.errors import ConfigError, ShapeError


def pair(value, name="value", minimum=1, op="operation"):
    """An int or a pair of ints -> a (height, width) tuple of ints >= minimum."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        result = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        result = (int(value[0]), int(value[1]))
    else:
        raise ConfigError(f"{op} expects {name} as an int or a pair of ints. Received: {value!r}")
    if min(result) < minimum:
        raise ConfigError(f"{op} expects {name} >= {minimum}. Received: {name}={value!r}")
    return result


class WindowGeometry(NamedTuple):
    """A sliding window's (height, width) pairs, validated once by window_geometry or
    pool_geometry; the one place that derives output sizes.

    output_hw:            O = (H + 2*p - d*(K-1) - 1) // s + 1
    transposed_output_hw: O = (H-1)*s - 2*p + d*(K-1) + output_padding + 1
    """

    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple = (1, 1)

    def output_hw(self, hw, op="operation", received=None, hint=None, error=None):
        """(OH, OW) of the window over hw (H, W), None where a size is None; a ShapeError
        naming op (or built by `error`, a layer's shape_error) when the window does not fit."""
        sizes = tuple(None if hw[i] is None else (hw[i] + 2 * self.padding[i] - self.dilation[i]
                                                  * (self.kernel[i] - 1) - 1) // self.stride[i] + 1
                      for i in range(2))
        if any(size is not None and size < 1 for size in sizes):
            least = tuple(max(1, self.dilation[i] * (self.kernel[i] - 1) + 1 - 2 * self.padding[i])
                          for i in range(2))
            raise fit_error(
                op, f"a spatial size of at least {least[0]}x{least[1]} for its window (kernel "
                f"{self.kernel}, dilation {self.dilation}, padding {self.padding})",
                hw, received, hint, error)
        return sizes

    def transposed_output_hw(self, hw, output_padding=(0, 0), op="operation", received=None,
                             hint=None, error=None):
        """(OH, OW) of the transposed window (the adjoint's output) over hw (H, W), None where
        a size is None; a ShapeError as output_hw's when the padding crops everything."""
        sizes = tuple(None if hw[i] is None else (hw[i] - 1) * self.stride[i] - 2 * self.padding[i]
                      + self.dilation[i] * (self.kernel[i] - 1) + output_padding[i] + 1
                      for i in range(2))
        if any(size is not None and size < 1 for size in sizes):
            raise fit_error(
                op, f"an input that its padding {self.padding} does not crop away entirely "
                f"(output {sizes[0]}x{sizes[1]})", hw, received, hint, error)
        return sizes


def fit_error(op, expected, hw, received=None, hint=None, error=None):
    """The ShapeError "<op> expects <expected>. Received: <received>[. <hint>.]" of a window
    that does not fit; `error` (a layer's shape_error) builds it instead when given."""
    received = received or f"spatial size {tuple(hw)}"
    got = f"spatial size {hw[0]}x{hw[1]}"
    if error is not None:
        return error(expected, received, got=got, hint=hint)
    tail = f". {hint}." if hint else ""
    return ShapeError(f"{op} expects {expected}. Received: {received}{tail}")


def window_geometry(op, kernel_size, stride=1, padding=0, dilation=1):
    """A validated WindowGeometry (ints or pairs; NumPy ints accepted, bools refused); a
    WindowGeometry passed as kernel_size comes back as it is."""
    if isinstance(kernel_size, WindowGeometry):
        return kernel_size
    return WindowGeometry(pair(kernel_size, "kernel_size", 1, op), pair(stride, "stride", 1, op),
                          pair(padding, "padding", 0, op), pair(dilation, "dilation", 1, op))


def pool_geometry(op, kernel_size, stride=None, padding=0):
    """window_geometry of a pool: stride defaults to the kernel, and padding may be at most
    half the kernel, as PyTorch's pools require."""
    if isinstance(kernel_size, WindowGeometry):
        return kernel_size
    kernel = pair(kernel_size, "kernel_size", 1, op)
    geometry = window_geometry(op, kernel, kernel if stride is None else stride, padding)
    if any(2 * geometry.padding[i] > kernel[i] for i in range(2)):
        raise ConfigError(f"{op} expects padding at most half the kernel size. "
                          f"Received: padding={geometry.padding}, kernel_size={kernel}")
    return geometry


def pad2d(x, padding, value=0.0):
    """Pad the last two axes by (ph, pw) on both sides; x itself when there is nothing to pad."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    padded = np.full(x.shape[:-2] + (x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw), value, x.dtype)
    padded[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]] = x
    return padded


def unpad2d(x, padding):
    """Remove (ph, pw) from both sides of the last two axes (a view)."""
    ph, pw = padding
    return x[..., ph : x.shape[-2] - ph, pw : x.shape[-1] - pw]


def window_slices(kh, kw, stride, dilation, out_hw):
    """The two slices that pick kernel position (kh, kw) for every output pixel."""
    (sh, sw), (dh, dw), (oh, ow) = stride, dilation, out_hw
    return (
        slice(kh * dh, kh * dh + sh * (oh - 1) + 1, sh),
        slice(kw * dw, kw * dw + sw * (ow - 1) + 1, sw),
    )


def kernel_positions(kernel, stride, dilation, out_hw):
    """Yield (kh, kw, rows, cols) for every kernel position, rows/cols as in window_slices."""
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            yield (kh, kw) + window_slices(kh, kw, stride, dilation, out_hw)


# Convolutions run over chunks of the batch whose im2col matrix has about this many bytes: it
# stays in cache from the copy that builds it to the matmul that reads it.
CHUNK_BYTES = 2**22

# Temporaries that never leave a kernel (padded planes, im2col matrices, matmul products) are
# carved from per-thread buffers kept between calls: a fresh multi-megabyte array pays page
# faults on every call, often more than the copy that fills it. Larger ones are not kept.
SCRATCH_LIMIT = 2**24
_scratch = threading.local()


def scratch(name, shape, dtype):
    """An uninitialised array of `shape` carved from this thread's buffer called `name`.

    Valid until the next scratch(name, ...) call: only for temporaries that a kernel never
    returns, caches or hands to a caller (so reusing the memory cannot change their data).
    """
    dtype, size = np.dtype(dtype), math.prod(shape)
    if size * dtype.itemsize > SCRATCH_LIMIT:
        return np.empty(shape, dtype)
    buffers = _scratch.__dict__.setdefault("buffers", {})
    buffer = buffers.get((name, dtype))
    if buffer is None or buffer.size < size:
        buffer = buffers[name, dtype] = np.empty(size, dtype)
    return buffer[:size].reshape(shape)


class FlatWindows(NamedTuple):
    """Where every kernel position's windows lie in a padded input split by stride phase.

    The padded input (Hp, Wp) is split into SH*SW phase planes, plane (a, b) holding the
    pixels (a + SH*t, b + SW*u): a (Hq, Wq) grid with Hq = ceil(Hp / SH), stored flat, with
    ``tail`` spare zeros after it. Kernel position (kh, kw) reads, for output pixel (i, j),
    pixel (i*SH + kh*DH, j*SW + kw*DW) = plane (kh*DH % SH, kw*DW % SW) at grid cell
    (i + kh*DH // SH, j + kw*DW // SW). Over all (i, j) in an (OH, Wq) block that is ONE
    contiguous run of OH*Wq values of the flat plane, starting at ``offset``: copying a
    window costs one memcpy-like run per (n, c) instead of one short row per output row.
    Each block row carries Wq - OW junk columns past the real outputs, read from the next
    row; they are dropped at the end (forward) or zeros (gradients), so they never count.
    """

    real_hw: tuple   # (H, W) of the unpadded data
    padding: tuple   # (ph, pw): real pixel (r, c) is padded pixel (r + ph, c + pw)
    stride: tuple
    grid_hw: tuple   # (Hq, Wq) of each phase plane
    tail: int
    out_hw: tuple    # (OH, OW) real outputs; a block holds OH * Wq columns
    taps: tuple      # per kernel position, row-major: (plane row a, plane column b, offset)

    @property
    def columns(self):
        """The columns per image of an im2col matrix, OH rows of Wq (OW real, the rest junk)."""
        return self.out_hw[0] * self.grid_hw[1]


def flat_windows(real_hw, kernel, stride, padding, dilation, out_hw):
    """The FlatWindows of a window over a (real_hw + 2*padding) input with `out_hw` outputs."""
    grid_hw = tuple(-(-(real_hw[i] + 2 * padding[i]) // stride[i]) for i in range(2))
    taps = tuple(
        ((kh * dilation[0]) % stride[0], (kw * dilation[1]) % stride[1],
         (kh * dilation[0]) // stride[0] * grid_hw[1] + (kw * dilation[1]) // stride[1])
        for kh in range(kernel[0]) for kw in range(kernel[1])
    )
    last = max(offset for _, _, offset in taps) + out_hw[0] * grid_hw[1]
    tail = max(0, last - grid_hw[0] * grid_hw[1])
    return FlatWindows(tuple(real_hw), tuple(padding), tuple(stride), grid_hw, tail,
                       tuple(out_hw), taps)


def _phase_cells(phase, stride, padding, size, cells):
    """Grid cells of one phase that hold real pixels, and those pixels, as two slices."""
    first = max(0, -((phase - padding) // stride))  # ceil((padding - phase) / stride)
    stop = max(first, min(cells, (size - 1 + padding - phase) // stride + 1))
    start = phase + stride * first - padding
    return slice(first, stop), slice(start, start + stride * (stop - first), stride)


def _phase_planes(windows, n, c, dtype):
    """Zeroed flat phase planes (N, SH, SW, C, Hq*Wq + tail), their (N, SH, SW, C, Hq, Wq) grid
    view and, per plane, the slices (grid cells, real pixels) mapping it onto the real data."""
    (sh, sw), (hq, wq) = windows.stride, windows.grid_hw
    planes = scratch("planes", (n, sh, sw, c, hq * wq + windows.tail), dtype)
    planes.fill(0)
    grids = planes[..., : hq * wq].reshape(n, sh, sw, c, hq, wq)
    maps = [
        (a, b) + _phase_cells(a, sh, windows.padding[0], windows.real_hw[0], hq)
        + _phase_cells(b, sw, windows.padding[1], windows.real_hw[1], wq)
        for a in range(sh) for b in range(sw)
    ]
    return planes, grids, maps


def im2col(x, windows, cols):
    """Windows of x (N, C, H, W), zero-padded, copied into cols (C, KH*KW, N, OH*Wq).

    Reshaped to (C*KH*KW, N*OH*Wq) cols is the matrix whose product with a (F, C*KH*KW)
    weight matrix is a convolution (junk columns included, see FlatWindows). Channels lead
    so that groups split it without a copy. Returns cols.
    """
    planes, grids, maps = _phase_planes(windows, x.shape[0], x.shape[1], x.dtype)
    for a, b, cell_rows, rows, cell_cols, columns in maps:
        grids[:, a, b, :, cell_rows, cell_cols] = x[:, :, rows, columns]
    length = windows.columns
    for k, (a, b, offset) in enumerate(windows.taps):
        cols[:, k] = planes[:, a, b, :, offset : offset + length].transpose(1, 0, 2)
    return cols


def col2im(cols, windows, out):
    """Adjoint of im2col: sum cols (C, KH*KW, N, OH*Wq) back into out (N, C, H, W).

    Overlapping windows accumulate by one slice-add per kernel position (never np.add.at);
    what fell on the padding is dropped. Junk columns of cols must be zero.
    """
    c, _, n, length = cols.shape
    planes, grids, maps = _phase_planes(windows, n, c, cols.dtype)
    for k, (a, b, offset) in enumerate(windows.taps):
        planes[:, a, b, :, offset : offset + length] += cols[:, k].transpose(1, 0, 2)
    for a, b, cell_rows, rows, cell_cols, columns in maps:
        out[:, :, rows, columns] = grids[:, a, b, :, cell_rows, cell_cols]


def to_columns(array, windows, matrix):
    """(N, F, OH, OW) -> matrix (F, N, OH, Wq), the layout of an im2col matrix, junk columns
    zero; returned as (F, N*OH*Wq)."""
    n, f, oh, ow = array.shape
    matrix[..., ow:] = 0
    matrix[..., :ow] = array.transpose(1, 0, 2, 3)
    return matrix.reshape(f, -1)


def from_columns(matrix, windows, out):
    """(F, N*OH*Wq) -> out (N, F, OH, OW), junk columns dropped."""
    (oh, ow), wq = windows.out_hw, windows.grid_hw[1]
    np.copyto(out, matrix.reshape(-1, out.shape[0], oh, wq)[..., :ow].transpose(1, 0, 2, 3))


def batch_chunks(n, bytes_per_item):
    """Slices of the batch, each of about CHUNK_BYTES of work (at least one item)."""
    step = max(1, CHUNK_BYTES // max(1, bytes_per_item))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]
