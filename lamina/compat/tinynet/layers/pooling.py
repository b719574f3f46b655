"""tinynet's MaxPool2D and MaxUnpool2D over lamina.layers.MaxPool2D and MaxUnpool2D (NCHW).

tinynet's pooling indices are window-local: the position of each maximum within its own
size (h, w) window, row-major, 0 .. h*w - 1 (its im2col argmax), which its MaxUnpool2D reads
back. lamina's (and PyTorch's) are flat within each H*W plane; the two helpers below convert,
so both layers compute with lamina's kernels and speak tinynet's indices.
"""

import numpy as np

from lamina import layers as L
from lamina.compat.tinynet.layers.convolution import _Spatial
from lamina.errors import ShapeError

__all__ = ["MaxPool2D", "MaxUnpool2D", "window_index", "plane_index"]


def _window_origins(shape, stride, width):
    """Flat H*W position (width `width`) of each window's top-left corner, (OH, OW)."""
    rows = np.arange(shape[-2])[:, None] * stride[0]
    cols = np.arange(shape[-1])[None, :] * stride[1]
    return rows, cols


def window_index(flat, size, stride, width):
    """Flat plane indices (N, C, OH, OW) of an input of width `width` -> window-local ones:
    (row - oh*sh) * kw + (col - ow*sw), where row, col = divmod(flat, width)."""
    rows, cols = _window_origins(flat.shape, stride, width)
    return (flat // width - rows) * size[1] + (flat % width - cols)


def plane_index(window, size, stride, width):
    """Window-local indices (N, C, H, W) -> flat indices in an output plane of width `width`:
    (h*sh + k // kw) * width + (w*sw + k % kw)."""
    rows, cols = _window_origins(window.shape, stride, width)
    return (rows + window // size[1]) * width + (cols + window % size[1])


class MaxPool2D(_Spatial):
    """The max of each size (h, w) window (an int: square), windows stride apart.

    (N, C, H, W) -> (N, C, (H - h) // stride + 1, (W - w) // stride + 1). With
    return_index=True, forward returns (output, indices): int64 (N, C, OH, OW), each
    maximum's window-local position k = i * w + j (ties: the first), as tinynet's, which
    MaxUnpool2D takes. Backward routes each gradient to its maximum.
    """

    type = "MaxPool2D"

    def __init__(self, name, input_dim, size, stride, return_index=False):
        super().__init__(name, input_dim)
        self.size, self.stride, self.return_index = size, stride, return_index
        self.native(L.MaxPool2D, size, stride, return_index=bool(return_index))
        self.out_dim = self.output_dim()
        _, self.out_height, self.out_width = self.out_dim

    def forward(self, input):
        out = super().forward(input)
        if not self.return_index:
            return out
        out, flat = out
        pool = self.lamina_layer
        return out, window_index(flat, pool.kernel_size, pool.stride, self.input_width)


class MaxUnpool2D(_Spatial):
    """Puts each value back where its maximum was, zeros elsewhere: tinynet's MaxUnpool2D.

    forward(input, max_indices): input (N, C, H, W), max_indices the window-local indices of
    MaxPool2D(return_index=True) (any shape holding N*C*H*W of them, as tinynet reshapes) ->
    (N, C, (H - 1) * stride + h, (W - 1) * stride + w). backward(in_gradient) returns the
    input's gradient: in_gradient read at those positions (tinynet's returned None).
    """

    type = "MaxUnpool2D"

    def __init__(self, name, input_dim, size, stride):
        super().__init__(name, input_dim)
        self.size, self.stride = size, stride
        self.native(L.MaxUnpool2D, size, stride)
        self.out_dim = self.output_dim()
        _, self.out_height, self.out_width = self.out_dim

    def forward(self, input, max_indices):
        input = self.check(input, self.input_dim)
        unpool = self.lamina_layer
        window = np.asarray(max_indices)
        if window.size != input.size or window.dtype.kind not in "iu" or window.size and (
                window.min() < 0 or window.max() >= np.prod(unpool.kernel_size)):
            raise ShapeError(f"{self.describe()} expects max_indices as {input.size} ints in "
                             f"[0, {np.prod(unpool.kernel_size)}), one per input value (the "
                             f"window-local indices of MaxPool2D(return_index=True)). Received: "
                             f"max_indices of shape {window.shape}, dtype {window.dtype}")
        flat = plane_index(window.reshape(input.shape), unpool.kernel_size, unpool.stride,
                           self.out_width)
        return self.run(lambda x: unpool.forward(x, flat, self.out_dim[1:]), input)
