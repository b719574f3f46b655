"""Permute: reorder the axes of each example, as Keras' Permute (the batch axis stays first)."""

from lamina.errors import ConfigError
from lamina.functional.checks import check_dout
from lamina.layers.base import Layer


class Permute(Layer):
    """(N, d1, ..., dk) -> (N, d_dims[0], ..., d_dims[k-1]); dims numbers the example axes from
    1, as Keras. Permute((2, 1)) turns per-position scores (N, T, C) into PyTorch's (N, C, T)
    for cross-entropy over positions. Backward applies the inverse permutation to dout.
    """

    def __init__(self, dims, name=None):
        super().__init__(name)
        if not isinstance(dims, (tuple, list)) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ConfigError(f"Permute expects dims as a permutation of 1..k (the example axes; "
                              f"the batch axis 0 stays first). Received: dims={dims!r}")
        self.dims = tuple(int(d) for d in dims)

    def output_shape(self, input_shape):
        self.check_shape(input_shape, len(self.dims) + 1, f"(N, {len(self.dims)} axes)")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def forward(self, x):
        x = self.check_input(x, len(self.dims) + 1, f"(N, {len(self.dims)} axes)")
        out = x.transpose((0,) + self.dims)
        self._cache = out.shape
        return out

    def backward(self, dout):
        dout = check_dout(self.describe(), dout, self._cache)
        inverse = [0] * (len(self.dims) + 1)
        for position, axis in enumerate((0,) + self.dims):
            inverse[axis] = position
        return dout.transpose(inverse)
