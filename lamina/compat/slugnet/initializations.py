"""slugnet.initializations: weight initializers as objects, each one of lamina.init's functions.

An initializer is called with a weight shape, ``GlorotUniform()((784, 200))``, and returns a
float32 array (lamina.floatx()); it also works as a lamina layer's ``weight_init``. A custom
initializer overrides ``call(size)``, as in slugnet. Fans follow slugnet (and lamina, and
PyTorch): a (in, out) matrix has fan_in = in, fan_out = out; a (F, C, KH, KW) kernel
fan_in = C*KH*KW, fan_out = F*KH*KW.

>>> GlorotUniform()((784, 200)).shape
(784, 200)
"""

import math

from lamina import init

__all__ = ["Initializer", "Zero", "One", "GlorotUniform", "GlorotNormal", "HeUniform",
           "HeNormal", "LecunUniform", "decompose_size"]


def decompose_size(size):
    """(fan_in, fan_out) of a weight shape, as slugnet computes them."""
    size = tuple(size)
    if len(size) == 2:
        return size[0], size[1]
    if len(size) in (4, 5):
        field = math.prod(size[2:])
        return size[1] * field, size[0] * field
    fan = int(math.sqrt(math.prod(size)))
    return fan, fan


class Initializer:
    """Base class: ``lamina_init`` is the lamina.init function that draws the values."""

    lamina_init = None

    def __call__(self, size, fan_in=None, fan_out=None):
        """The weights for `size`; lamina's layers pass fans equal to decompose_size's."""
        return self.call((size,) if isinstance(size, int) else tuple(size))

    def call(self, size):
        """Draw an array of shape `size` (override this in a custom initializer)."""
        fan_in, fan_out = decompose_size(size)
        return type(self).lamina_init(size, fan_in=fan_in, fan_out=fan_out)

    def weight_init(self):
        """What a lamina layer's weight_init takes: the lamina.init name of a built-in
        initializer (so model files can name it), or this object for a custom one."""
        if type(self).call is Initializer.call and self.lamina_init is not None:
            return type(self).lamina_init.__name__
        return self

    def __repr__(self):
        return f"{type(self).__name__}()"


class Zero(Initializer):
    """All zeros (lamina.init.zeros)."""

    lamina_init = staticmethod(init.zeros)


class One(Initializer):
    """All ones (lamina.init.ones)."""

    lamina_init = staticmethod(init.ones)


class GlorotUniform(Initializer):
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (lamina.init.glorot_uniform)."""

    lamina_init = staticmethod(init.glorot_uniform)


class GlorotNormal(Initializer):
    """N(0, 2 / (fan_in + fan_out)) (lamina.init.glorot_normal)."""

    lamina_init = staticmethod(init.glorot_normal)


class HeUniform(Initializer):
    """U(-a, a), a = sqrt(6 / fan_in) (lamina.init.he_uniform)."""

    lamina_init = staticmethod(init.he_uniform)


class HeNormal(Initializer):
    """N(0, 2 / fan_in) (lamina.init.he_normal)."""

    lamina_init = staticmethod(init.he_normal)


class LecunUniform(Initializer):
    """U(-a, a), a = sqrt(3 / fan_in) (lamina.init.lecun_uniform)."""

    lamina_init = staticmethod(init.lecun_uniform)
