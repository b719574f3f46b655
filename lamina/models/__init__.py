"""The model zoo: builders that return a ``lamina.Sequential`` (so compile / fit / save /
load_model work on them), each sized for 28x28 and 32x32 images.

    from lamina import models
    model = models.resnet_small(in_channels=1)          # (N, 1, 28, 28) -> (N, 10) logits
    model.summary((None, 1, 28, 28))

LeNet5, ResNet (basic blocks; resnet_small), MobileNetV2 (inverted residuals) and
ShuffleNetV2 (channel split and shuffle), TransformerClassifier (token ids (N, T) -> logits),
plus their blocks and SEBlock
(squeeze-and-excitation). Every block is a plain composition of lamina.layers, apart from
ChannelSlice, which ShuffleNetV2's channel split needs.
"""

from lamina.models.blocks import ChannelSlice, SEBlock
from lamina.models.lenet import LeNet5
from lamina.models.mobilenet import MobileNetV2, inverted_residual
from lamina.models.resnet import ResNet, basic_block, resnet_small
from lamina.models.shufflenet import ShuffleNetV2, shuffle_unit
from lamina.models.transformer import TransformerClassifier

__all__ = ["LeNet5", "ResNet", "resnet_small", "basic_block", "MobileNetV2", "inverted_residual",
           "ShuffleNetV2", "shuffle_unit", "SEBlock", "ChannelSlice", "TransformerClassifier"]
