"""Residual: y = block(x) + shortcut(x), the skip connection of ResNet."""

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout
from lamina.layers.base import Layer
from lamina.layers.container import Composite, deserialize, serialize


class Residual(Composite):
    """y = block(x) + shortcut(x); shortcut=None is the identity, y = block(x) + x.

    x: any shape the block takes; block(x) and shortcut(x) must have equal shapes (no
    broadcasting: a mismatch is a ShapeError at build / output_shape time, naming both).
    Backward: x fans out to both paths, so dx = block.backward(dout) + shortcut.backward(dout)
    (+ dout itself for the identity). Parameters and buffers are named "block.0.weight",
    "shortcut.1.running_mean", ... as the attributes of the same torch module would be.

    >>> from lamina import layers as L
    >>> Residual(L.Conv2D(4, 8, 3, padding=1), L.Conv2D(4, 8, 1)).output_shape((None, 4, 5, 5))
    (None, 8, 5, 5)
    """

    child_names = ("block", "shortcut")

    def __init__(self, block, shortcut=None, name=None):
        for arg, value in (("block", block), ("shortcut", shortcut)):
            if not isinstance(value, Layer) and not (arg == "shortcut" and value is None):
                raise ConfigError(f"Residual expects {arg} as a lamina Layer"
                                  f"{' or None (identity)' if arg == 'shortcut' else ''}. "
                                  f"Received: {arg}={value!r}")
        super().__init__([block] + ([] if shortcut is None else [shortcut]), name)

    @property
    def block(self):
        return self.layers[0]

    @property
    def shortcut(self):
        return self.layers[1] if len(self.layers) > 1 else None

    # -- shapes ------------------------------------------------------------------------
    def build(self, input_shape):
        for layer in self.layers:
            if not layer.built:
                layer.build(tuple(input_shape))
        return self.output_shape(input_shape)

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        block_shape = tuple(self.block.output_shape(shape))
        skip_shape = shape if self.shortcut is None else tuple(self.shortcut.output_shape(shape))
        self._check_shapes(block_shape, skip_shape)
        return block_shape

    def _check_shapes(self, block_shape, skip_shape):
        if tuple(block_shape) != tuple(skip_shape):
            what = ("the input (identity shortcut)" if self.shortcut is None
                    else "the shortcut output")
            raise ShapeError(
                f"{self.describe()} adds the block output to {what}, so their shapes must be "
                f"equal. Received: block output {tuple(block_shape)}, shortcut output "
                f"{tuple(skip_shape)}"
                + (". Give a shortcut, e.g. Conv2D(in, out, 1, stride=s), to match them"
                   if self.shortcut is None else ""))

    # -- computation -------------------------------------------------------------------
    def forward(self, x):
        x = self.check_input(x)
        out = self.block.forward(x)
        skip = x if self.shortcut is None else self.shortcut.forward(x)
        self._check_shapes(out.shape, skip.shape)
        self._cache = out.shape
        return out + skip

    def backward(self, dout):
        dout = check_dout(self.describe(), dout, self._cache)
        dskip = dout if self.shortcut is None else self.shortcut.backward(dout)
        return self.block.backward(dout) + dskip

    # -- description ---------------------------------------------------------------------
    def get_config(self):
        shortcut = None if self.shortcut is None else serialize(self.shortcut)
        return {"block": serialize(self.block), "shortcut": shortcut, "name": self.name}

    @classmethod
    def from_config(cls, config):
        shortcut = config.get("shortcut")
        shortcut = None if shortcut is None else deserialize(shortcut)
        return cls(deserialize(config["block"]), shortcut, name=config.get("name"))
