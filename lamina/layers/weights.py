"""Weight and bias, for the layers that have them (Linear, the convolutions): created from the
layer's weight_init / bias_init and regularizers, and their gradients accumulated."""


class WeightAndBias:
    """Layer's init_weight_and_bias and accumulate_weight_and_bias (a mixin: it reads the
    layer's bias flag, weight_init, bias_init and optional kernel/bias regularizers)."""

    def init_weight_and_bias(self, shape, bias_size, fan_in, fan_out):
        """Create `weight` with self.weight_init and, if self.bias is truthy, `bias`
        of shape (bias_size,)."""
        fans = dict(fan_in=fan_in, fan_out=fan_out)
        self.weight = self.new_parameter("weight", shape, self.weight_init, **fans,
                                         regularizer=getattr(self, "kernel_regularizer", None))
        self.bias = self.new_parameter("bias", (bias_size,), self.bias_init, **fans,
                                       regularizer=getattr(self, "bias_regularizer", None)) \
            if self.bias else None

    def accumulate_weight_and_bias(self, dw, db, fresh=False):
        """Add dw into weight.grad and, if the layer has a bias, db into bias.grad (fresh:
        both are new arrays, see Parameter.accumulate)."""
        self.weight.accumulate(dw, fresh)
        if self.bias is not None:
            self.bias.accumulate(db, fresh)
