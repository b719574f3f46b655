"""CIFAR-style ResNet with basic blocks (He et al. 2016, section 4.2), optionally with SE."""

from lamina import layers as L
from lamina.models.blocks import SEBlock, check_count, check_counts, conv_bn
from lamina.model import Sequential


def basic_block(in_channels, out_channels, stride=1, se_reduction=None, name=None):
    """ResNet's basic block: y = relu(body(x) + shortcut(x)), as torchvision's BasicBlock.

    body: conv3x3(stride) - BN - ReLU - conv3x3 - BN [- SEBlock(out, se_reduction)];
    shortcut: the identity, or conv1x1(stride) - BN when the stride or width changes.
    x (N, in, H, W) -> (N, out, ceil(H/stride), ceil(W/stride)). Convs carry no bias (BN's
    beta is the shift). Built as Sequential([Residual(body, shortcut), ReLU()]).

    >>> basic_block(16, 32, stride=2).output_shape((None, 16, 7, 8))
    (None, 32, 4, 4)
    """
    body = conv_bn(in_channels, out_channels, 3, stride, L.ReLU) + conv_bn(out_channels,
                                                                            out_channels, 3)
    if se_reduction is not None:
        body.append(SEBlock(out_channels, se_reduction, name="se"))
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = Sequential(conv_bn(in_channels, out_channels, 1, stride), name="shortcut")
    return Sequential([L.Residual(Sequential(body, name="body"), shortcut), L.ReLU()], name=name)


def ResNet(in_channels=3, num_classes=10, widths=(16, 32, 64), blocks_per_stage=(3, 3, 3),
           se_reduction=None):
    """CIFAR ResNet: stem conv3x3(widths[0]) - BN - ReLU, then one stage per width of
    blocks_per_stage basic blocks (the first block of every stage after the first has
    stride 2 and a projection shortcut), global average pool, Linear -> logits.

    x (N, in_channels, H, W) -> (N, num_classes) for any H, W (global pooling); 32x32
    inputs end on 8x8 maps, 28x28 on 7x7. The defaults are ResNet-20 (6n+2 layers with
    n=3): 272,474 parameters for 3 input channels and 10 classes. se_reduction=r adds a
    squeeze-and-excitation gate to every block (SE-ResNet). See resnet_small.

    >>> ResNet().output_shape((None, 3, 32, 32))
    (None, 10)
    """
    in_channels = check_count("ResNet", "in_channels", in_channels)
    num_classes = check_count("ResNet", "num_classes", num_classes)
    widths = check_counts("ResNet", "widths", widths)
    blocks_per_stage = check_counts("ResNet", "blocks_per_stage", blocks_per_stage,
                                    length=len(widths))
    if se_reduction is not None:
        check_count("ResNet", "se_reduction", se_reduction)
    model = Sequential(conv_bn(in_channels, widths[0], 3, activation=L.ReLU), name="resnet")
    channels = widths[0]
    for stage, (width, blocks) in enumerate(zip(widths, blocks_per_stage), 1):
        for index in range(1, blocks + 1):
            stride = 2 if stage > 1 and index == 1 else 1
            model.add(basic_block(channels, width, stride, se_reduction,
                                  name=f"stage{stage}_block{index}"))
            channels = width
    model.add(L.GlobalAvgPool2D())
    model.add(L.Linear(channels, num_classes, name="fc"))
    return model


def resnet_small(in_channels=3, num_classes=10, widths=(16, 32, 64), blocks_per_stage=(1, 1, 1),
                 se_reduction=None):
    """ResNet with one basic block per stage (ResNet-8): 78,042 parameters for 3 input
    channels and 10 classes (77,754 for 1 channel); see ResNet for the layout.

    >>> resnet_small(in_channels=1).count_params()
    77754
    """
    return ResNet(in_channels, num_classes, widths, blocks_per_stage, se_reduction)
