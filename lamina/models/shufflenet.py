"""ShuffleNetV2 (Ma et al. 2018): channel split, a cheap branch, concat, channel shuffle."""

from lamina import layers as L
from lamina.errors import ConfigError
from lamina.models.blocks import ChannelSlice, check_count, check_counts, conv_bn
from lamina.model import Sequential


def shuffle_unit(in_channels, out_channels, stride=1, name=None):
    """ShuffleNetV2's unit, as torchvision's InvertedResidual. With b = out_channels / 2:

    stride 1 (in == out): split the channels in halves x1, x2;
        y = shuffle(concat(x1, branch(x2)), 2)
    stride 2 (downsampling): y = shuffle(concat(shortcut(x), branch(x)), 2), with
        shortcut = dw3x3(stride) - BN - conv1x1 (in -> b) - BN - ReLU
    branch = conv1x1 (-> b) - BN - ReLU - dw3x3(stride) - BN - conv1x1 (b -> b) - BN - ReLU.

    x (N, in, H, W) -> (N, out, ceil(H/stride), ceil(W/stride)). Built as
    Sequential([Concat([left, right]), ChannelShuffle(2)]).

    >>> shuffle_unit(16, 32, stride=2).output_shape((None, 16, 9, 9))
    (None, 32, 5, 5)
    """
    op = "shuffle_unit"
    in_channels = check_count(op, "in_channels", in_channels)
    out_channels = check_count(op, "out_channels", out_channels, minimum=2)
    stride = check_count(op, "stride", stride)
    if out_channels % 2 or (stride == 1 and in_channels != out_channels):
        raise ConfigError(f"{op} expects an even out_channels, equal to in_channels when "
                          f"stride == 1 (the split keeps half the input). Received: "
                          f"in_channels={in_channels}, out_channels={out_channels}, "
                          f"stride={stride}")
    half = out_channels // 2
    branch_in = in_channels if stride > 1 else half
    branch = (conv_bn(branch_in, half, 1, activation=L.ReLU)
              + conv_bn(half, half, 3, stride, depthwise=True)
              + conv_bn(half, half, 1, activation=L.ReLU))
    if stride == 1:
        left = ChannelSlice(0, half, name="split")
        right = Sequential([ChannelSlice(half, in_channels, name="split")] + branch,
                           name="branch")
    else:
        left = Sequential(conv_bn(in_channels, in_channels, 3, stride, depthwise=True)
                          + conv_bn(in_channels, half, 1, activation=L.ReLU), name="shortcut")
        right = Sequential(branch, name="branch")
    return Sequential([L.Concat([left, right]), L.ChannelShuffle(2)], name=name)


def ShuffleNetV2(in_channels=3, num_classes=10, stages_repeats=(2, 2, 2),
                 stages_out_channels=(24, 48, 96, 192, 512)):
    """ShuffleNetV2 for small images: stem conv3x3 (stride 1) - BN - ReLU, one stage per
    repeat count (a stride-2 unit, then repeats - 1 stride-1 units), conv1x1 - BN - ReLU,
    global average pool, Linear -> logits. x (N, in_channels, H, W) -> (N, num_classes) for
    any H, W.

    stages_out_channels: the stem width, each stage's (even) width, the last conv's width,
    as torchvision's (whose 0.5x is (24, 48, 96, 192, 1024) with repeats (4, 8, 4)). The
    stem keeps full resolution and has no max pool (ImageNet's stride 4 would leave 1x1 maps
    from 32x32 inputs). Parameters with the defaults: 172,858 for 3 input channels and 10
    classes (172,426 for 1).

    >>> ShuffleNetV2(in_channels=1).output_shape((None, 1, 28, 28))
    (None, 10)
    """
    op = "ShuffleNetV2"
    in_channels = check_count(op, "in_channels", in_channels)
    num_classes = check_count(op, "num_classes", num_classes)
    repeats = check_counts(op, "stages_repeats", stages_repeats)
    widths = check_counts(op, "stages_out_channels", stages_out_channels,
                          length=len(repeats) + 2)
    channels = widths[0]
    model = Sequential(conv_bn(in_channels, channels, 3, activation=L.ReLU), name="shufflenet_v2")
    for stage, (width, units) in enumerate(zip(widths[1:-1], repeats), 1):
        for index in range(1, units + 1):
            model.add(shuffle_unit(channels, width, 2 if index == 1 else 1,
                                   name=f"stage{stage}_unit{index}"))
            channels = width
    for layer in conv_bn(channels, widths[-1], 1, activation=L.ReLU) + [L.GlobalAvgPool2D()]:
        model.add(layer)
    model.add(L.Linear(widths[-1], num_classes, name="fc"))
    return model
