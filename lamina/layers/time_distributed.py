"""TimeDistributed: a layer applied to every time step of (N, T, ...) independently."""

from lamina.errors import ConfigError
from lamina.functional.checks import check_dout
from lamina.layers.base import Layer
from lamina.layers.container import Composite, deserialize, serialize


class TimeDistributed(Composite):
    """Keras' TimeDistributed: x (N, T, *rest) -> layer on the (N*T, *rest) batch -> (N, T, ...).

    The per-position linear map of sequence models: TimeDistributed(Linear(None, V)) maps
    (N, T, F) to (N, T, V), while Linear alone keeps its behaviour of flattening (N, T*F).
    Parameters keep the layer's names with the prefix "layer." ("layer.weight").
    """

    child_names = ("layer",)

    def __init__(self, layer, name=None):
        if not isinstance(layer, Layer):
            raise ConfigError(f"TimeDistributed expects a lamina Layer. Received: {layer!r}")
        super().__init__([layer], name)

    def get_config(self):
        return {"layer": serialize(self.layer), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(deserialize(config["layer"]), name=config.get("name"))

    def build(self, input_shape):
        self._check(input_shape)
        if not self.layer.built:
            self.layer.build((None,) + tuple(input_shape[2:]))
        return self.output_shape(input_shape)

    def output_shape(self, input_shape):
        self._check(input_shape)
        inner = self.layer.output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def _check(self, shape):
        self.check_shape(shape, tuple(range(3, 8)), "(N, T, ...)")

    def forward(self, x):
        x = self.check_input(x)
        self._check(x.shape)
        n, steps = x.shape[:2]
        out = self.layer.forward(x.reshape((n * steps,) + x.shape[2:]))
        self._cache = (x.shape, out.shape)
        return out.reshape((n, steps) + out.shape[1:])

    can_skip_input_grad = True

    def backward(self, dout, input_grad=True):
        x_shape, out_shape = self._cache
        dout = check_dout(self.describe(), dout, x_shape[:2] + out_shape[1:])
        dx = self.layer.backward(dout.reshape(out_shape))
        return dx.reshape(x_shape)
