"""slugnet.layers: Dense, Dropout, Convolution, MeanPooling and Flatten over lamina's layers.

Each slugnet layer stands for a short run of lamina layers, its ``parts``: Dense is
``[Linear, activation]``, Convolution ``[Conv2D, activation]``, MeanPooling ``[AvgPool2D]``,
Flatten ``[Flatten]``, Dropout a dropout with the weight-scaling inference rule. A Model
chains every layer's parts into one lamina.Sequential and trains that.

Shapes follow slugnet: ``inshape`` may name the batch axis first as None, ``(None, 1, 28,
28)``, or leave it out, ``(1, 28, 28)``; Dense takes a feature count, ``inshape=784``. Only
the first layer of a network needs it; the others are built for their predecessor's output.
Images are (N, C, H, W); convolutions and pooling use no padding ("valid"), sizes floored.

>>> Dense(3, inshape=4).call([[1.0, 2.0, 3.0, 4.0]]).shape
(1, 3)
"""

from lamina.compat.slugnet.layers.base import Layer
from lamina.compat.slugnet.layers.convolution import Convolution, MeanPooling
from lamina.compat.slugnet.layers.dense import Dense
from lamina.compat.slugnet.layers.dropout import Dropout
from lamina.compat.slugnet.layers.flatten import Flatten

__all__ = ["Layer", "Dense", "Dropout", "Convolution", "MeanPooling", "Flatten"]
