"""Tier 2: stateful layers that own Parameters and call the tier-1 kernels."""

from lamina.layers.activation import ReLU, Sigmoid, Softmax, Tanh
from lamina.layers.base import Layer
from lamina.layers.conv import Conv2D, ConvTranspose2D, Deconv2D
from lamina.layers.dropout import Dropout
from lamina.layers.linear import Dense, Linear
from lamina.layers.norm import BatchNorm1D, BatchNorm2D
from lamina.layers.pool import AvgPool2D, MaxPool2D, MeanPool2D
from lamina.layers.reshape import Flatten

__all__ = [
    "Layer", "Linear", "Dense", "Conv2D", "ConvTranspose2D", "Deconv2D", "MaxPool2D",
    "AvgPool2D", "MeanPool2D", "BatchNorm1D", "BatchNorm2D", "Dropout", "Flatten", "ReLU",
    "Sigmoid", "Tanh", "Softmax",
]
