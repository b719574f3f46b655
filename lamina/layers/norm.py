"""Batch normalisation layers: BatchNorm1D for (N, D), BatchNorm2D for (N, C, H, W)."""

import numpy as np

from lamina.backend import floatx
from lamina.errors import ConfigError, ShapeError
from lamina.functional import norm as F
from lamina.layers.base import Layer
from lamina.parameter import Parameter


class _BatchNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per feature/channel.

    Training uses the batch statistics and updates the running ones as PyTorch does:
    running = (1 - momentum) * running + momentum * batch (momentum = 0.1, the fraction of
    the new value; the functional kernel's bn_param takes the kept fraction 1 - momentum),
    with the unbiased batch variance in running_var. Eval mode uses the running statistics.
    """

    param_names = ("gamma", "beta")
    buffer_names = ("running_mean", "running_var")
    ranks, layout = (), None

    def __init__(self, num_features, eps=1e-5, momentum=0.1, name=None):
        super().__init__(name)
        name_ = type(self).__name__
        if not isinstance(momentum, (int, float)) or not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"{name_} expects momentum as a number in [0, 1] (the fraction of the "
                              f"new batch statistic, as PyTorch). Received: momentum={momentum!r}")
        if not isinstance(eps, (int, float)) or eps <= 0:
            raise ConfigError(f"{name_} expects eps > 0. Received: eps={eps!r}")
        self.num_features = self.check_size("num_features", num_features, allow_none=True)
        self.eps, self.momentum = eps, momentum
        self.build_when_known(self.num_features)

    def build(self, input_shape):
        if self.num_features is None:
            self.num_features = int(input_shape[1])
        d = self.num_features
        self.gamma = Parameter(np.ones(d, floatx()), "gamma")
        self.beta = Parameter(np.zeros(d, floatx()), "beta")
        self.running_mean = np.zeros(d, floatx())
        self.running_var = np.ones(d, floatx())
        self.built = True

    def forward(self, x):
        if not self.built:
            self.build(x.shape)
        self.check_input(x, dim=1, size=self.num_features)
        if x.ndim not in self.ranks:
            raise ShapeError(f"{self.describe()} expects input {self.layout}. "
                             f"Received: x.shape={x.shape}")
        if self.training and x.size // x.shape[1] < 2:
            raise ShapeError(
                f"{self.describe()} needs more than one value per channel in training mode. "
                f"Received: x.shape={x.shape}"
            )
        bn_param = {
            "mode": "train" if self.training else "test", "eps": self.eps,
            "momentum": 1.0 - self.momentum, "unbiased": True,
            "running_mean": self.running_mean, "running_var": self.running_var,
        }
        # (N, C, L) runs as the (N, C, L, 1) view through the spatial kernel
        as_image = x.ndim != 2
        kernel = F.spatial_batchnorm_forward if as_image else F.batchnorm_forward
        view = x.reshape(x.shape + (1,) * (4 - x.ndim)) if as_image else x
        out, cache = kernel(view, self.gamma.data, self.beta.data, bn_param)
        self._cache = (cache, x.shape, as_image)
        self.running_mean, self.running_var = bn_param["running_mean"], bn_param["running_var"]
        return out.reshape(x.shape)

    def backward(self, dout):
        cache, shape, as_image = self._cache
        kernel = F.spatial_batchnorm_backward if as_image else F.batchnorm_backward
        dx, dgamma, dbeta = kernel(dout.reshape(cache[0].shape), cache)
        self.gamma.accumulate(dgamma)
        self.beta.accumulate(dbeta)
        return dx.reshape(shape)


class BatchNorm1D(_BatchNorm):
    """Batch norm over (N, D) or (N, C, L) inputs, statistics per feature / channel.

    See functional.batchnorm_forward for the math.
    """

    ranks, layout = (2, 3), "(N, D) or (N, C, L)"


class BatchNorm2D(_BatchNorm):
    """Batch norm over (N, C, H, W), statistics per channel over (N, H, W)."""

    ranks, layout = (4,), "(N, C, H, W)"
