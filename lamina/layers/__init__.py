"""Tier 2: stateful layers that own Parameters and call the tier-1 kernels."""

from lamina.layers.activation import (ELU, GELU, HardSigmoid, HardSwish, LeakyReLU, LogSoftmax,
                                      ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Swish, Tanh)
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.augmentation import RandomCrop, RandomErasing, RandomFlip
from lamina.layers.augmentation_affine import RandomRotation, RandomTranslation
from lamina.layers.base import Layer
from lamina.layers.conv import Conv2D, ConvTranspose2D, Deconv2D
from lamina.layers.conv1d import (AvgPool1D, Conv1D, GlobalAvgPool1D, GlobalMaxPool1D,
                                  MaxPool1D)
from lamina.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from lamina.layers.arithmetic import ConstantArithmetic
from lamina.layers.dense import Dense
from lamina.layers.dropout import Dropout
from lamina.layers.embedding import Embedding, PositionalEmbedding
from lamina.layers.linear import Linear
from lamina.layers.merge import Add, Average, Concat, Concatenate, Multiply, Subtract
from lamina.layers.norm import (BatchNorm1D, BatchNorm2D, GroupNorm, InstanceNorm2D,
                                 LayerNorm)
from lamina.layers.pool import AvgPool2D, MaxPool2D, MeanPool2D
from lamina.layers.permute import Permute
from lamina.layers.preprocessing import Normalization, Rescaling
from lamina.layers.recurrent import GRU, LSTM, RNN
from lamina.layers.registry import register_layer
from lamina.layers.reshape import Flatten, Reshape
from lamina.layers.residual import Residual
from lamina.layers.spatial import (AdaptiveAvgPool2D, ChannelShuffle, GlobalAvgPool2D,
                                   GlobalMaxPool2D, MaxUnpool2D, Upsample2D, ZeroPad2D)
from lamina.layers.time_distributed import TimeDistributed
from lamina.layers.transformer import TransformerEncoderLayer

__all__ = [
    "Layer", "Linear", "Dense", "Conv2D", "ConvTranspose2D", "Deconv2D", "MaxPool2D",
    "AvgPool2D", "MeanPool2D", "BatchNorm1D", "BatchNorm2D", "Dropout", "Flatten", "ReLU",
    "Sigmoid", "Tanh", "Softmax",
    "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Swish", "Softplus", "HardSigmoid",
    "HardSwish", "LogSoftmax",
    "Residual", "Add", "Multiply", "Concat", "Concatenate", "Subtract", "Average",
    "LayerNorm", "GroupNorm", "InstanceNorm2D",
    "GlobalAvgPool2D", "GlobalMaxPool2D", "AdaptiveAvgPool2D", "MaxUnpool2D", "Upsample2D",
    "ZeroPad2D", "ChannelShuffle", "Reshape", "DepthwiseConv2D", "SeparableConv2D",
    "Embedding", "PositionalEmbedding", "RNN", "LSTM", "GRU", "MultiHeadAttention",
    "TransformerEncoderLayer", "Conv1D", "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D",
    "GlobalMaxPool1D", "TimeDistributed", "Permute", "RandomFlip", "RandomCrop",
    "RandomTranslation", "RandomRotation", "RandomErasing", "Rescaling", "Normalization",
    "ConstantArithmetic", "register_layer",
]
