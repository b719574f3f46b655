"""tinynet.layers: Conv2D, Deconv2D, Dropout, Flatten, Linear, MaxPool2D, MaxUnpool2D, ReLu,
Softmax."""

from lamina.compat.tinynet.layers.activations import ReLu, Softmax
from lamina.compat.tinynet.layers.base import Layer, Parameter
from lamina.compat.tinynet.layers.convolution import Conv2D, Deconv2D
from lamina.compat.tinynet.layers.dropout import Dropout
from lamina.compat.tinynet.layers.flatten import Flatten
from lamina.compat.tinynet.layers.linear import Linear
from lamina.compat.tinynet.layers.pooling import MaxPool2D, MaxUnpool2D

__all__ = ["Layer", "Parameter", "Conv2D", "Deconv2D", "Dropout", "Flatten", "Linear",
           "MaxPool2D", "MaxUnpool2D", "ReLu", "Softmax"]
