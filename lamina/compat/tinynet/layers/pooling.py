"""tinynet's MaxPool2D over lamina.layers.MaxPool2D (NCHW)."""

from lamina import layers as L
from lamina.compat.tinynet.layers.convolution import _Spatial

__all__ = ["MaxPool2D"]


class MaxPool2D(_Spatial):
    """The max of each size (h, w) window (an int: square), windows stride apart.

    (N, C, H, W) -> (N, C, (H - h) // stride + 1, (W - w) // stride + 1). With
    return_index=True, forward returns (output, indices): int64 (N, C, OH, OW), the position
    of each maximum flat within its H*W plane (PyTorch's return_indices; ties: the first),
    which lamina.layers.MaxUnpool2D takes. Backward routes each gradient to its maximum.
    """

    type = "MaxPool2D"

    def __init__(self, name, input_dim, size, stride, return_index=False):
        super().__init__(name, input_dim)
        self.size, self.stride, self.return_index = size, stride, return_index
        self.native(L.MaxPool2D, size, stride, return_index=bool(return_index))
        self.out_dim = self.output_dim()
        _, self.out_height, self.out_width = self.out_dim
