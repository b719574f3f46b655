"""Normalisation layers: batch norm (BatchNorm1D, BatchNorm2D) and the per-sample norms
(LayerNorm, GroupNorm, InstanceNorm2D), whose statistics never mix the examples of a batch."""

from lamina.errors import ConfigError, ShapeError
from lamina.functional import norm as F
from lamina.functional import sample_norm as SF
from lamina.functional.checks import check_bool, check_dout, check_number, check_real
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text


_MOMENTUM = "a number in [0, 1] (the fraction of the new statistic, as PyTorch)"


def _check_momentum(layer, momentum):
    """A running-statistics momentum as PyTorch's (the new value's fraction) -> a float."""
    return check_number(layer, "momentum", momentum, lambda value: 0 <= value <= 1, _MOMENTUM)


def _check_eps(layer, eps):
    """The variance's epsilon, a finite real > 0 -> a float (keeps float32 math in float32)."""
    return check_real(layer, "eps", eps, 0, low_open=True)


class _BatchNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per feature/channel.

    Training uses the batch statistics and updates the running ones as PyTorch does:
    running = (1 - momentum) * running + momentum * batch (momentum = 0.1, the fraction of
    the new value, as functional.batch_norm_forward takes it), with the unbiased batch
    variance in running_var. Eval mode uses the running statistics, and so does a frozen batch
    norm (trainable=False) in training, as in Keras 3: fine-tuning on top of it neither shifts
    its statistics nor normalises with a small batch's.
    """

    param_names = ("gamma", "beta")
    buffer_names = ("running_mean", "running_var")
    ranks, layout = (), None
    size_argument = "num_features"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, name=None):
        super().__init__(name)
        self.eps = _check_eps(type(self).__name__, eps)
        self.momentum = _check_momentum(type(self).__name__, momentum)
        self.num_features = self.check_size("num_features", num_features, allow_none=True)
        self.build_when_known(self.num_features)

    def build(self, input_shape):
        if self.num_features is None:
            self.num_features = self.inferred_channels(input_shape)
        d = self.num_features
        self.gamma = self.new_parameter("gamma", (d,), "ones")
        self.beta = self.new_parameter("beta", (d,), "zeros")
        self.running_mean = self.new_buffer((d,), 0.0)
        self.running_var = self.new_buffer((d,), 1.0)
        self.built = True

    def output_shape(self, input_shape):
        self.check_shape(input_shape, self.ranks, self.layout, 1, self.num_features)
        return tuple(input_shape)

    def forward(self, x):
        x = self.check_input(x, self.ranks, self.layout)
        if not self.built:
            self.build(x.shape)
        self.check_shape(x.shape, dim=1, size=self.num_features, name="x.shape")
        batch_statistics = self.training and self.trainable  # frozen: inference mode (Keras 3)
        if batch_statistics and x.size // x.shape[1] < 2:
            raise ShapeError(
                f"{self.describe()} needs more than one value per channel in training mode. "
                f"Received: x.shape={x.shape}"
            )
        out, self._cache, running = F.batch_norm_forward(
            x, self.gamma.data, self.beta.data, self.running_mean, self.running_var,
            batch_statistics, self.momentum, self.eps)
        if self.training:  # eval mode only reads them (and must not change their dtype)
            self.running_mean, self.running_var = running
        return out

    def backward(self, dout):
        dout = check_dout(self.describe(), dout, self._cache[0].shape)
        dx, dgamma, dbeta = F.batch_norm_backward(dout, self._cache)
        self.gamma.accumulate(dgamma)
        self.beta.accumulate(dbeta)
        return dx


class BatchNorm1D(_BatchNorm):
    """Batch norm over (N, D) or (N, C, L) inputs, statistics per feature / channel.

    See functional.batch_norm_forward for the math.
    """

    ranks, layout = (2, 3), "(N, D) or (N, C, L)"


class BatchNorm2D(_BatchNorm):
    """Batch norm over (N, C, H, W), statistics per channel over (N, H, W)."""

    ranks, layout = (4,), "(N, C, H, W)"


# -- per-sample normalisation ------------------------------------------------------------------
class _SampleNorm(Layer):
    """Shared checks and affine bookkeeping: optional `gamma` (ones) and `beta` (zeros)."""

    param_names = ("gamma", "beta")

    def make_affine(self, shape, scale, shift):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.gamma = self.new_parameter("gamma", shape, "ones") if scale else None
        self.beta = self.new_parameter("beta", shape, "zeros") if shift else None

    def affine_data(self):
        return tuple(None if p is None else p.data for p in (self.gamma, self.beta))

    def accumulate_affine(self, dgamma, dbeta):
        for param, grad in ((self.gamma, dgamma), (self.beta, dbeta)):
            if param is not None:
                param.accumulate(grad)


class LayerNorm(_SampleNorm):
    """Normalise each example over its trailing `normalized_shape` axes, as torch.nn.LayerNorm.

    x: (N, ..., *normalized_shape) -> same shape. gamma (with elementwise_affine) and beta
    (with elementwise_affine and bias) have shape normalized_shape. Same in train and eval.
    See functional.layer_norm_forward for the math.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, name=None):
        super().__init__(name)
        self.normalized_shape = SF.as_shape(normalized_shape, type(self).__name__)
        self.eps = _check_eps(type(self).__name__, eps)
        self.elementwise_affine = check_bool(type(self).__name__, "elementwise_affine",
                                             elementwise_affine)
        self.bias = check_bool(type(self).__name__, "bias", bias)
        self.make_affine(self.normalized_shape, self.elementwise_affine,
                         self.elementwise_affine and self.bias)

    def forward(self, x):
        x = self.check_input(x)
        self._check_trailing(x.shape, "x.shape")
        shape = self.normalized_shape
        out, self._cache = SF.layer_norm_forward(x, *self.affine_data(), shape, self.eps)
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = SF.layer_norm_backward(dout, self._cache)
        self.accumulate_affine(dgamma, dbeta)
        return dx

    def output_shape(self, input_shape):
        self._check_trailing(input_shape)
        return tuple(input_shape)

    def _check_trailing(self, shape, name="input shape"):
        """shape must be (N, ..., *normalized_shape)."""
        trailing, shape = self.normalized_shape, tuple(shape)
        if len(shape) <= len(trailing) or any(
                got not in (None, want) for got, want in zip(shape[-len(trailing):], trailing)):
            layout = ", ".join(["N", "..."] + [str(d) for d in trailing])
            raise self.shape_error(f"input ({layout}) ending in normalized_shape {trailing}",
                                   shape_text(name, shape))


class GroupNorm(_SampleNorm):
    """Normalise each example over groups of C / num_groups channels, as torch.nn.GroupNorm.

    x: (N, C, *spatial) -> same shape; gamma, beta: (C,) with affine. num_channels=None is
    inferred from the first input. Same in train and eval. See functional.group_norm_forward.
    """

    size_argument = "num_channels"

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, name=None):
        super().__init__(name)
        self.num_groups = self.check_size("num_groups", num_groups)
        self.num_channels = self.check_size("num_channels", num_channels, allow_none=True)
        self.eps = _check_eps(type(self).__name__, eps)
        self.affine = check_bool(type(self).__name__, "affine", affine)
        self.gamma = self.beta = None
        self.build_when_known(self.num_channels)

    def build(self, input_shape):
        channels = (self.num_channels if self.num_channels is not None
                    else self.inferred_channels(input_shape))
        if channels % self.num_groups:
            raise ConfigError(f"{self.describe()} expects num_channels divisible by num_groups. "
                              f"Received: num_channels={channels}, num_groups={self.num_groups}")
        self.num_channels = channels
        self.make_affine(channels, self.affine, self.affine)
        self.built = True

    def forward(self, x):
        x = self.check_input(x)
        self._check_channels(x.shape, "x.shape")
        if not self.built:
            self.build(x.shape)
        self._check_channels(x.shape, "x.shape")
        out, self._cache = SF.group_norm_forward(x, *self.affine_data(), self.num_groups, self.eps)
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = SF.group_norm_backward(dout, self._cache)
        self.accumulate_affine(dgamma, dbeta)
        return dx

    def output_shape(self, input_shape):
        self._check_channels(input_shape)
        return tuple(input_shape)

    def _check_channels(self, shape, name="input shape"):
        if len(shape) < 2:
            raise self.shape_error("input (N, C, *spatial)", shape_text(name, shape))
        self.check_shape(shape, dim=1, size=self.num_channels, name=name)


class InstanceNorm2D(_SampleNorm):
    """Normalise each (example, channel) plane over its H*W values, as torch.nn.InstanceNorm2d.

    x: (N, C, H, W) -> same shape; gamma, beta: (C,) with affine (default off, as torch).
    track_running_stats=False (torch's default): train and eval both use each plane's own
    statistics. True: training also updates the buffers running_mean (zeros) and running_var
    (ones) as torch does, running = (1 - momentum) * running + momentum * (batch average of the
    planes' mean / unbiased variance), and eval normalises with them. num_features=None is
    inferred from the first input. See functional.instance_norm_forward for the math.
    """

    size_argument = "num_features"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, name=None):
        super().__init__(name)
        self.num_features = self.check_size("num_features", num_features, allow_none=True)
        self.eps = _check_eps(type(self).__name__, eps)
        self.momentum = _check_momentum(type(self).__name__, momentum)
        self.affine = check_bool(type(self).__name__, "affine", affine)
        self.track_running_stats = check_bool(type(self).__name__, "track_running_stats",
                                              track_running_stats)
        self.gamma = self.beta = None
        self.build_when_known(self.num_features)

    def build(self, input_shape):
        if self.num_features is None:
            self.num_features = self.inferred_channels(input_shape)
        self.make_affine(self.num_features, self.affine, self.affine)
        if self.track_running_stats:
            self.buffer_names = ("running_mean", "running_var")
            self.running_mean = self.new_buffer((self.num_features,), 0.0)
            self.running_var = self.new_buffer((self.num_features,), 1.0)
        self.built = True

    def forward(self, x):
        x = self.check_input(x, 4, "(N, C, H, W)")
        if not self.built:
            self.build(x.shape)
        self.check_shape(x.shape, dim=1, size=self.num_features, name="x.shape")
        use_running = self.track_running_stats and not self.training
        if not use_running and x.shape[2] * x.shape[3] < 2:
            raise ShapeError(f"{self.describe()} needs more than one spatial value per channel "
                             f"to normalise with the input's statistics. "
                             f"Received: x.shape={x.shape}")
        running = dict(running_mean=self.running_mean, running_var=self.running_var) \
            if use_running else {}
        out, self._cache = SF.instance_norm_forward(x, *self.affine_data(), self.eps, **running)
        if self.track_running_stats and self.training:
            self.running_mean, self.running_var = SF.instance_norm_running_stats(
                self._cache, self.running_mean, self.running_var, self.momentum)
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = SF.instance_norm_backward(dout, self._cache)
        self.accumulate_affine(dgamma, dbeta)
        return dx

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 4, "(N, C, H, W)", 1, self.num_features)
        return tuple(input_shape)
