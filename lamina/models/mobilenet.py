"""MobileNetV2 (Sandler et al. 2018): inverted residuals with linear bottlenecks."""

from lamina import layers as L
from lamina.errors import ConfigError
from lamina.functional.checks import check_real
from lamina.models.blocks import check_count, check_counts, conv_bn, make_divisible
from lamina.model import Sequential

# (expansion t, output channels c, blocks n, first stride s) per stage, as in the paper's
# Table 2. SMALL suits 28x28 / 32x32 inputs: three stride-2 stages take 32x32 to 4x4.
SMALL_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 2))
IMAGENET_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                     (6, 160, 3, 2), (6, 320, 1, 1))


def inverted_residual(in_channels, out_channels, stride=1, expansion=6, name=None):
    """MobileNetV2's block, as torchvision's InvertedResidual:

    conv1x1 (in -> in*t) - BN - ReLU6   (left out when t == 1)
    depthwise conv3x3 (stride) - BN - ReLU6
    conv1x1 (in*t -> out) - BN          (linear bottleneck: no activation)

    plus the identity when stride == 1 and in == out (then a Residual). x (N, in, H, W) ->
    (N, out, ceil(H/stride), ceil(W/stride)).

    >>> inverted_residual(8, 8, expansion=4).count_params()  # 2*(8*32) + 32*9 + BN 2*(2*32 + 8)
    944
    """
    hidden = in_channels * check_count("inverted_residual", "expansion", expansion)
    layers = conv_bn(in_channels, hidden, 1, activation=L.ReLU6) if expansion != 1 else []
    layers += conv_bn(hidden, hidden, 3, stride, L.ReLU6, depthwise=True)
    layers += conv_bn(hidden, out_channels, 1)
    if stride == 1 and in_channels == out_channels:
        return L.Residual(Sequential(layers, name="body"), name=name)
    return Sequential(layers, name=name)


def MobileNetV2(in_channels=3, num_classes=10, width_mult=1.0, settings=SMALL_SETTINGS,
                stem_channels=16, last_channels=256, dropout=0.2):
    """MobileNetV2 for small images: stem conv3x3 (stride 1) - BN - ReLU6, the inverted
    residual stages of `settings` (t, c, n, s), conv1x1 (last_channels) - BN - ReLU6, global
    average pool, Dropout(dropout), Linear -> logits. x (N, in_channels, H, W) ->
    (N, num_classes) for any H, W.

    width_mult scales every width, rounded to a multiple of 8 (torchvision's rule; the last
    width only grows). The stem keeps full resolution (ImageNet's stride 2 would leave 2x2
    maps from 32x32 inputs). Parameters with the defaults: 134,538 for 3 input channels and
    10 classes (134,250 for 1); 47,306 at width_mult=0.5. IMAGENET_SETTINGS with
    stem_channels=32, last_channels=1280 and 1000 classes gives the paper's network and its
    3,504,872 parameters (as torchvision's mobilenet_v2), but for the stem's stride.

    >>> MobileNetV2(in_channels=1).output_shape((None, 1, 28, 28))
    (None, 10)
    """
    in_channels = check_count("MobileNetV2", "in_channels", in_channels)
    num_classes = check_count("MobileNetV2", "num_classes", num_classes)
    width_mult = check_real("MobileNetV2", "width_mult", width_mult, 0, low_open=True)
    if not isinstance(settings, (list, tuple)) or not settings:
        raise ConfigError(f"MobileNetV2 expects settings as a non-empty list of (expansion, "
                          f"channels, blocks, stride). Received: settings={settings!r}")
    settings = [check_counts("MobileNetV2", f"settings[{i}]", row, length=4)
                for i, row in enumerate(settings)]
    channels = make_divisible(check_count("MobileNetV2", "stem_channels", stem_channels)
                              * width_mult)
    last = make_divisible(check_count("MobileNetV2", "last_channels", last_channels)
                          * max(1.0, width_mult))
    model = Sequential(conv_bn(in_channels, channels, 3, activation=L.ReLU6), name="mobilenet_v2")
    for stage, (expansion, width, blocks, stride) in enumerate(settings, 1):
        width = make_divisible(width * width_mult)
        for index in range(1, blocks + 1):
            model.add(inverted_residual(channels, width, stride if index == 1 else 1, expansion,
                                        name=f"stage{stage}_block{index}"))
            channels = width
    for layer in conv_bn(channels, last, 1, activation=L.ReLU6) + [L.GlobalAvgPool2D()]:
        model.add(layer)
    if dropout:
        model.add(L.Dropout(dropout))
    model.add(L.Linear(last, num_classes, name="fc"))
    return model
