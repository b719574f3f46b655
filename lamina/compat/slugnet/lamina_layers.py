"""Two small lamina layers the slugnet adapters need and lamina itself does not have.

lamina's model files find layer classes by name, so these are named unlike any built-in
layer (and unlike the adapters, which are not lamina layers at all).
"""

from lamina.functional import dropout as F
from lamina.layers.base import Layer


class CustomActivation(Layer):
    """Runs a user's slugnet Activation (its call and derivative) as a lamina layer.

    y = activation.call(x); dx = dout * activation.derivative() (elementwise, as slugnet).
    """

    def __init__(self, activation):
        super().__init__(name=type(activation).__name__.lower())
        self.activation = activation

    def forward(self, x):
        self.check_input(x)
        return self.activation.call(x)

    def backward(self, dout):
        return dout * self.activation.derivative()

    def get_config(self):
        return {"activation": repr(self.activation), "name": self.name}


class WeightScaledDropout(Layer):
    """Dropout with the weight-scaling inference rule: drop with probability p in training,
    multiply by the keep probability q = 1 - p at inference.

    Built on lamina's inverted-dropout kernel: out = q * dropout_forward(x, p), which is
    x * mask (mask in {0, 1}) in training and q * x in eval mode. Both modes equal q times
    lamina's Dropout(p), so a network trained either way computes the same function up to
    that constant factor at this layer.
    """

    def __init__(self, p, name=None):
        super().__init__(name)
        self.p = p
        self.keep = 1.0 - p

    def forward(self, x):
        self.check_input(x)
        out, self._cache = F.dropout_forward(x, self.p, train=self.training)
        return out * self.keep

    def backward(self, dout):
        return F.dropout_backward(dout, self._cache) * self.keep

    def output_shape(self, input_shape):
        return tuple(input_shape)
