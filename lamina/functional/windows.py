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
from lamina.functional.checks import is_int


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


def same_sides(size, kernel, stride=1, dilation=1):
    """(before, after) padding of "same" along one axis, as Keras/TensorFlow (and PyTorch's
    padding="same" at stride 1): O = ceil(size / s),
    total = max((O - 1)*s + d*(K-1) + 1 - size, 0), before = total // 2, the odd one after.
    None for an unknown size."""
    if size is None:
        return None
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def check_not_same(padding, op, what):
    """A ConfigError naming op when padding is "same", which `what` cannot have."""
    if isinstance(padding, str) and padding == "same":
        raise ConfigError(f"{op} expects padding as numbers: {what} has no padding \"same\". "
                          f"Received: padding='same'")


def padding_sides(padding):
    """((top, bottom), (left, right)) of an explicit padding, (ph, pw) or already per side."""
    rows, cols = padding
    return (tuple(rows) if isinstance(rows, (tuple, list)) else (rows, rows),
            tuple(cols) if isinstance(cols, (tuple, list)) else (cols, cols))


class WindowGeometry(NamedTuple):
    """A sliding window's (height, width) pairs, validated once by window_geometry or
    pool_geometry; the one place that derives output sizes and "same" padding.

    padding is (ph, pw) (both sides alike), ((top, bottom), (left, right)), or "same", whose
    sides depend on the input size (same_sides); for_input(hw) makes it explicit.
    output_hw:            O = (H + top + bottom - d*(K-1) - 1) // s + 1  ("same": ceil(H / s))
    transposed_output_hw: O = (H-1)*s - top - bottom + d*(K-1) + output_padding + 1
                          ("same": H * s)
    """

    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple = (1, 1)

    def sides(self, hw):
        """((top, bottom), (left, right)) over an input of hw (H, W); None for a "same" side
        whose size is None."""
        if self.padding == "same":
            return tuple(same_sides(hw[i], self.kernel[i], self.stride[i], self.dilation[i])
                         for i in range(2))
        return padding_sides(self.padding)

    def for_input(self, hw):
        """This geometry with explicit padding for an input of hw (H, W): "same" resolved."""
        return self._replace(padding=self.sides(hw)) if self.padding == "same" else self

    def output_hw(self, hw, op="operation", received=None, hint=None, error=None):
        """(OH, OW) of the window over hw (H, W), None where a size is None; a ShapeError
        naming op (or built by `error`, a layer's shape_error) when the window does not fit."""
        sides = self.sides(hw)
        sizes = tuple(None if hw[i] is None else (hw[i] + sum(sides[i]) - self.dilation[i]
                                                  * (self.kernel[i] - 1) - 1) // self.stride[i] + 1
                      for i in range(2))
        if any(size is not None and size < 1 for size in sizes):
            least = tuple(max(1, self.dilation[i] * (self.kernel[i] - 1) + 1 - sum(sides[i]))
                          for i in range(2))
            raise fit_error(
                op, f"a spatial size of at least {least[0]}x{least[1]} for its window (kernel "
                f"{self.kernel}, dilation {self.dilation}, padding {self.padding})",
                hw, received, hint, error)
        return sizes

    def transposed_for_input(self, hw, output_padding=(0, 0), op="operation"):
        """(geometry, output_padding) of the transposed window over hw (H, W), "same" made
        explicit as Keras' Conv2DTranspose: output H*s, cropping the sides a "same" window
        over H*s pads (same_sides) and adding any shortfall, s - d*(K-1) - 1 when the
        kernel is narrower than the stride, as output_padding (which must be 0 then)."""
        if self.padding != "same":
            return self, output_padding
        if tuple(output_padding) != (0, 0):
            raise ConfigError(f'{op} expects output_padding 0 with padding "same", whose output '
                              f"is the input times the stride. Received: "
                              f"output_padding={tuple(output_padding)}")
        sides = tuple(same_sides(None if hw[i] is None else hw[i] * self.stride[i],
                                 self.kernel[i], self.stride[i], self.dilation[i])
                      for i in range(2))
        shortfall = tuple(max(self.stride[i] - self.dilation[i] * (self.kernel[i] - 1) - 1, 0)
                          for i in range(2))
        return self._replace(padding=sides), shortfall

    def transposed_output_hw(self, hw, output_padding=(0, 0), op="operation", received=None,
                             hint=None, error=None):
        """(OH, OW) of the transposed window (the adjoint's output) over hw (H, W), None where
        a size is None; a ShapeError as output_hw's when the padding crops everything.
        "same": H*s (transposed_for_input)."""
        geometry, output_padding = self.transposed_for_input(hw, output_padding, op)
        sides = padding_sides(geometry.padding)
        sizes = tuple(None if hw[i] is None else (hw[i] - 1) * self.stride[i] - sum(sides[i])
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


PADDING_TEXT = ('"same", "valid", an int, a pair of ints or ((top, bottom), (left, right)) '
                'pairs of ints >= 0')


def padding_spec(padding, op="operation"):
    """padding as a WindowGeometry holds it: "same"; "valid" -> (0, 0); an int or pair -> (ph,
    pw); ((top, bottom), (left, right)) -> itself, or (ph, pw) when each axis is symmetric."""
    if isinstance(padding, str) and padding in ("same", "valid"):
        return "same" if padding == "same" else (0, 0)
    nested = isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
        isinstance(p, (tuple, list)) and len(p) == 2 for p in padding)
    if nested and all(is_int(v) for p in padding for v in p):
        sides = tuple(pair(p, "padding", 0, op) for p in padding)
        return tuple(s[0] for s in sides) if all(s[0] == s[1] for s in sides) else sides
    if is_int(padding) or (isinstance(padding, (tuple, list)) and len(padding) == 2
                           and all(is_int(p) for p in padding)):
        return pair(padding, "padding", 0, op)
    raise ConfigError(f"{op} expects padding as {PADDING_TEXT}. Received: padding={padding!r}")


def window_geometry(op, kernel_size, stride=1, padding=0, dilation=1):
    """A validated WindowGeometry (ints or pairs; NumPy ints accepted, bools refused; padding
    also "same" or "valid", see padding_spec); a WindowGeometry passed as kernel_size comes
    back as it is."""
    if isinstance(kernel_size, WindowGeometry):
        return kernel_size
    return WindowGeometry(pair(kernel_size, "kernel_size", 1, op), pair(stride, "stride", 1, op),
                          padding_spec(padding, op), pair(dilation, "dilation", 1, op))


def pool_geometry(op, kernel_size, stride=None, padding=0):
    """window_geometry of a pool: stride defaults to the kernel, and padding may be at most
    half the kernel on each side, as PyTorch's pools require ("same" always is)."""
    if isinstance(kernel_size, WindowGeometry):
        return kernel_size
    kernel = pair(kernel_size, "kernel_size", 1, op)
    geometry = window_geometry(op, kernel, kernel if stride is None else stride, padding)
    if geometry.padding != "same" and any(
            2 * max(side) > kernel[i] for i, side in enumerate(padding_sides(geometry.padding))):
        raise ConfigError(f"{op} expects padding at most half the kernel size. "
                          f"Received: padding={geometry.padding}, kernel_size={kernel}")
    return geometry


def pad2d(x, padding, value=0.0):
    """Pad the last two axes by `padding`, (ph, pw) or ((top, bottom), (left, right)), filled
    with value; x itself when there is nothing to pad."""
    (top, bottom), (left, right) = padding_sides(padding)
    if top == bottom == left == right == 0:
        return x
    padded = np.full(x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right),
                     value, x.dtype)
    padded[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
    return padded


def unpad2d(x, padding):
    """Remove `padding` ((ph, pw) or per side, as pad2d's) from the last two axes (a view)."""
    (top, bottom), (left, right) = padding_sides(padding)
    return x[..., top : x.shape[-2] - bottom, left : x.shape[-1] - right]


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
# stays in cache (L3) from the copy that builds it to the matmul that reads it. Measured on
# two threads, 2 MiB chunks (one 32x32 image of 32 channels each) cost the CIFAR CNN's conv
# 1.3-1.4x the time of 4 MiB ones: every chunk's few dozen NumPy calls hold the GIL a while.
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
    padding: tuple   # (top, left): real pixel (r, c) is padded pixel (r + top, c + left)
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
    """The FlatWindows of a window over real_hw padded by `padding` ((ph, pw) or ((top,
    bottom), (left, right))) with `out_hw` outputs."""
    sides = padding_sides(padding)
    grid_hw = tuple(-(-(real_hw[i] + sum(sides[i])) // stride[i]) for i in range(2))
    taps = tuple(
        ((kh * dilation[0]) % stride[0], (kw * dilation[1]) % stride[1],
         (kh * dilation[0]) // stride[0] * grid_hw[1] + (kw * dilation[1]) // stride[1])
        for kh in range(kernel[0]) for kw in range(kernel[1])
    )
    last = max(offset for _, _, offset in taps) + out_hw[0] * grid_hw[1]
    tail = max(0, last - grid_hw[0] * grid_hw[1])
    return FlatWindows(tuple(real_hw), (sides[0][0], sides[1][0]), tuple(stride), grid_hw, tail,
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
    planes.fill(0)  # measured: one fill beats zeroing only the padding by many small fills
    grids = planes[..., : hq * wq].reshape(n, sh, sw, c, hq, wq)
    maps = [
        (a, b) + _phase_cells(a, sh, windows.padding[0], windows.real_hw[0], hq)
        + _phase_cells(b, sw, windows.padding[1], windows.real_hw[1], wq)
        for a in range(sh) for b in range(sw)
    ]
    return planes, grids, maps


def im2col(x, windows, cols):
    """Windows of x (N, C, H, W), zero-padded, copied into cols (N, C, KH*KW, OH*Wq).

    Reshaped to (N, C*KH*KW, OH*Wq), cols[n] is the matrix whose product with a
    (F, C*KH*KW) weight matrix is image n's convolution, (F, OH*Wq): NCHW order already,
    junk columns included (see FlatWindows). Channels lead the rows so that groups split
    them without a copy. Returns cols.
    """
    planes, grids, maps = _phase_planes(windows, x.shape[0], x.shape[1], x.dtype)
    for a, b, cell_rows, rows, cell_cols, columns in maps:
        grids[:, a, b, :, cell_rows, cell_cols] = x[:, :, rows, columns]
    length = windows.columns
    for k, (a, b, offset) in enumerate(windows.taps):
        cols[:, :, k] = planes[:, a, b, :, offset : offset + length]
    return cols


def col2im(cols, windows, out):
    """Adjoint of im2col: sum cols (N, C, KH*KW, OH*Wq) back into out (N, C, H, W).

    Overlapping windows accumulate by one slice-add per kernel position (never np.add.at);
    what fell on the padding is dropped. Junk columns of cols must be zero.
    """
    n, c, _, length = cols.shape
    planes, grids, maps = _phase_planes(windows, n, c, cols.dtype)
    for k, (a, b, offset) in enumerate(windows.taps):
        planes[:, a, b, :, offset : offset + length] += cols[:, :, k]
    for a, b, cell_rows, rows, cell_cols, columns in maps:
        out[:, :, rows, columns] = grids[:, a, b, :, cell_rows, cell_cols]


def to_columns(array, windows, matrix):
    """(N, F, OH, OW) -> matrix (N, F, OH, Wq), the layout of a product with an im2col
    matrix, junk columns zero; returned as (N, F, OH*Wq)."""
    ow = array.shape[3]
    matrix[..., ow:] = 0
    matrix[..., :ow] = array
    return matrix.reshape(matrix.shape[0], matrix.shape[1], matrix.shape[2] * matrix.shape[3])


def from_columns(matrix, windows, out):
    """(N, F, OH*Wq) -> out (N, F, OH, OW), junk columns dropped (whole rows copied where
    matrix is image-major, a transposing copy where it is a batch-major view)."""
    (oh, ow), wq = windows.out_hw, windows.grid_hw[1]
    np.copyto(out, matrix.reshape(out.shape[:2] + (oh, wq))[..., :ow])


def batch_chunks(n, bytes_per_item):
    """Slices of the batch, as few as hold at most CHUNK_BYTES of work each (at least one
    item), of equal sizes give or take one item and an even number of them where the batch
    allows (so that two threads share them evenly; the split never depends on the threads).
    An empty batch is one empty chunk."""
    if n == 0:
        return [slice(0, 0)]
    count = -(-n // max(1, CHUNK_BYTES // max(1, bytes_per_item)))
    count = min(n, count + count % 2) if count > 1 else count
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(count)]
