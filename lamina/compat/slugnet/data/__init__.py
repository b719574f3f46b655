"""slugnet.data: the datasets slugnet's examples train on (``slugnet.data.mnist.get_mnist``)."""

from lamina.compat.slugnet.data import mnist

__all__ = ["mnist"]
