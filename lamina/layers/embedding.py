"""Embedding (token ids -> vectors) and PositionalEmbedding (a learned vector per position)."""

import numpy as np

from lamina.backend import floatx, get_rng
from lamina.errors import ShapeError
from lamina.functional import embedding as F
from lamina.functional.checks import check_dout, check_int
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text


class Embedding(Layer):
    """A table of num_embeddings vectors: ids (N, ...) integer -> (N, ..., embedding_dim).

    weight: (num_embeddings, embedding_dim), drawn from N(0, 1) as torch.nn.Embedding; the
    row padding_idx starts at zero and gets no gradient. See functional.embedding_forward.
    ``takes_indices = True`` tells fit/evaluate/predict to pass integer inputs through as
    they are (no conversion to floats, no image checks) when this is a model's first layer.
    """

    param_names = ("weight",)
    takes_indices = True

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, name=None):
        super().__init__(name)
        self.num_embeddings = self.check_size("num_embeddings", num_embeddings)
        self.embedding_dim = self.check_size("embedding_dim", embedding_dim)
        if padding_idx is not None:
            padding_idx = check_int("Embedding", "padding_idx", padding_idx,
                                    -self.num_embeddings, self.num_embeddings - 1,
                                    alternatives=(None,)) % self.num_embeddings
        self.padding_idx = padding_idx
        def normal_without_padding(shape, fan_in=None, fan_out=None):
            table = get_rng().standard_normal(shape)
            if padding_idx is not None:
                table[padding_idx] = 0
            return table.astype(floatx())

        self.weight = self.new_parameter("weight", (self.num_embeddings, self.embedding_dim),
                                         normal_without_padding)

    def forward(self, x):
        ids = F.check_indices(self.describe(), x, self.num_embeddings, "x")
        if ids.shape[:1] == (0,) or ids.ndim == 0:
            raise ShapeError(f"{self.describe()} expects a non-empty batch of token ids (N, ...). "
                             f"Received: x.shape={ids.shape}")
        out, self._cache = F.embedding_forward(ids, self.weight.data, self.padding_idx)
        return out

    can_skip_input_grad = True

    def backward(self, dout, input_grad=True):
        """Fills weight.grad; returns None (token ids have no gradient)."""
        self.weight.accumulate(F.embedding_backward(dout, self._cache))
        return None

    def output_shape(self, input_shape):
        return tuple(input_shape) + (self.embedding_dim,)


class PositionalEmbedding(Layer):
    """x (N, T, D) + weight[:T]: a learned vector per position, T <= max_length (BERT, GPT-2).

    weight: (max_length, embedding_dim), drawn from N(0, 0.02^2). Backward: dx = dout,
    dweight[:T] = sum over the batch of dout.
    """

    param_names = ("weight",)

    def __init__(self, max_length, embedding_dim, name=None):
        super().__init__(name)
        self.max_length = self.check_size("max_length", max_length)
        self.embedding_dim = self.check_size("embedding_dim", embedding_dim)
        self.weight = self.new_parameter(
            "weight", (self.max_length, self.embedding_dim),
            lambda shape, fan_in=None, fan_out=None:
                (0.02 * get_rng().standard_normal(shape)).astype(floatx()))

    def forward(self, x):
        x = self.check_input(x, 3, "(N, T, embedding_dim)", 2, self.embedding_dim)
        self._check_length(x.shape, "x.shape")
        self._cache = x.shape
        return x + self.weight.data[:x.shape[1]]

    def backward(self, dout):
        shape = self._cache
        dout = check_dout(self.describe(), dout, shape)
        grad = np.zeros_like(self.weight.data)
        grad[:shape[1]] = dout.sum(axis=0)
        self.weight.accumulate(grad)
        return dout.copy()

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 3, "(N, T, embedding_dim)", 2, self.embedding_dim)
        self._check_length(input_shape)
        return tuple(input_shape)

    def _check_length(self, shape, name="input shape"):
        if shape[1] is not None and shape[1] > self.max_length:
            raise self.shape_error(f"sequences of at most max_length={self.max_length} steps",
                                   shape_text(name, shape))
