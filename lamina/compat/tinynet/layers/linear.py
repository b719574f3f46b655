"""tinynet's Linear over lamina.layers.Linear: f(x) = x w + b, w (input_dim, output_dim)."""

from lamina import layers as L
from lamina.compat.tinynet.layers.base import Layer

__all__ = ["Linear"]


class Linear(Layer):
    """Fully connected: (N, input_dim) -> (N, output_dim).

    Backward: dw = x^T dy, db = sum over the batch of dy, dx = dy w^T.
    """

    type = "Linear"

    def __init__(self, name, input_dim, output_dim):
        super().__init__(name)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.native(L.Linear, input_dim, output_dim)
