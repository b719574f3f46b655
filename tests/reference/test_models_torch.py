"""The model zoo against PyTorch modules written as torchvision writes them.

The torch side is independent of lamina's composition: BasicBlock with conv1/bn1/downsample
and ``out += identity``, SqueezeExcitation, MobileNetV2's InvertedResidual (``x + conv(x)``),
ShuffleNetV2's InvertedResidual (``x.chunk(2)``, ``torch.cat``, view-transpose shuffle), and
whole networks assembled from them. Parameters are paired in registration order (shapes must
agree; Linear's weight is transposed), lamina's random weights are copied in, then output,
input gradient, every parameter gradient and the BN running statistics are compared:
float64 to rtol 1e-6, one float32 case per family to rtol 1e-4 (and no silent upcast).
"""

import numpy as np
import pytest
import torch
from torch import nn

from lamina.models import (LeNet5, MobileNetV2, SEBlock, ShuffleNetV2, basic_block,
                           inverted_residual, resnet_small, shuffle_unit)

from .network_harness import TORCH_DTYPE, check_network, owners, torch_layout


# -- torch modules, torchvision style ----------------------------------------------------------
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeezed):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(channels, squeezed, 1), nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(self.avgpool(x)))))


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, se_reduction=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = (SqueezeExcitation(planes, max(1, planes // se_reduction))
                   if se_reduction else None)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        if self.se is not None:
            out = self.se(out)
        out += identity
        return torch.relu(out)


def conv_bn_act(cin, cout, kernel, stride=1, groups=1, act=None):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return layers + ([act()] if act else [])


class MobileInvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = inp * expand_ratio
        self.use_res_connect = stride == 1 and inp == oup
        layers = conv_bn_act(inp, hidden, 1, act=nn.ReLU6) if expand_ratio != 1 else []
        layers += conv_bn_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6)
        layers += conv_bn_act(hidden, oup, 1)
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)


class ShuffleInvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride, half = stride, oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(*conv_bn_act(inp, inp, 3, stride, groups=inp),
                                         *conv_bn_act(inp, half, 1, act=nn.ReLU))
        self.branch2 = nn.Sequential(*conv_bn_act(inp if stride > 1 else half, half, 1,
                                                  act=nn.ReLU),
                                     *conv_bn_act(half, half, 3, stride, groups=half),
                                     *conv_bn_act(half, half, 1, act=nn.ReLU))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


def head(channels, classes, dropout=0.0):
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten()] + ([nn.Dropout(dropout)] if dropout else []) \
        + [nn.Linear(channels, classes)]


def torch_resnet(cin, classes, widths, blocks, se_reduction=None):
    layers, channels = conv_bn_act(cin, widths[0], 3, act=nn.ReLU), widths[0]
    for stage, (width, count) in enumerate(zip(widths, blocks)):
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            layers.append(BasicBlock(channels, width, stride, se_reduction))
            channels = width
    return nn.Sequential(*layers, *head(channels, classes))


def torch_mobilenet_v2(cin, classes, stem, settings, last, dropout=0.0):
    layers, channels = conv_bn_act(cin, stem, 3, act=nn.ReLU6), stem
    for expansion, width, count, stride in settings:
        for index in range(count):
            layers.append(MobileInvertedResidual(channels, width, stride if index == 0 else 1,
                                                 expansion))
            channels = width
    return nn.Sequential(*layers, *conv_bn_act(channels, last, 1, act=nn.ReLU6),
                         *head(last, classes, dropout))


def torch_shufflenet_v2(cin, classes, repeats, widths):
    layers, channels = conv_bn_act(cin, widths[0], 3, act=nn.ReLU), widths[0]
    for width, count in zip(widths[1:-1], repeats):
        for index in range(count):
            layers.append(ShuffleInvertedResidual(channels, width, 2 if index == 0 else 1))
            channels = width
    return nn.Sequential(*layers, *conv_bn_act(channels, widths[-1], 1, act=nn.ReLU),
                         *head(widths[-1], classes))


def torch_lenet5(cin, classes, padding, features):
    return nn.Sequential(nn.Conv2d(cin, 6, 5, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(features, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, classes))


# -- the cases: (lamina builder, torch builder, x shape), awkward sizes ----------------------------
MOBILE_SETTINGS = ((1, 8, 1, 1), (3, 16, 2, 2), (2, 24, 1, 2))  # make_divisible-stable widths
CASES = {
    "resnet-block-projection-stride2": (lambda: basic_block(3, 5, stride=2),
                                        lambda: BasicBlock(3, 5, 2), (2, 3, 7, 9)),
    "resnet-block-identity": (lambda: basic_block(4, 4), lambda: BasicBlock(4, 4), (3, 4, 5, 6)),
    "se-resnet-block-width-change": (lambda: basic_block(4, 6, se_reduction=2),
                                     lambda: BasicBlock(4, 6, 1, 2), (2, 4, 6, 5)),
    "se-block": (lambda: SEBlock(6, 4), lambda: SqueezeExcitation(6, 1), (2, 6, 3, 5)),
    "mobilenet-block-residual": (lambda: inverted_residual(4, 4, expansion=3),
                                 lambda: MobileInvertedResidual(4, 4, 1, 3), (2, 4, 5, 7)),
    "mobilenet-block-stride2": (lambda: inverted_residual(3, 5, stride=2, expansion=2),
                                lambda: MobileInvertedResidual(3, 5, 2, 2), (2, 3, 9, 6)),
    "mobilenet-block-no-expansion": (lambda: inverted_residual(4, 6, expansion=1),
                                     lambda: MobileInvertedResidual(4, 6, 1, 1), (2, 4, 5, 5)),
    "shufflenet-unit": (lambda: shuffle_unit(6, 6), lambda: ShuffleInvertedResidual(6, 6, 1),
                        (2, 6, 5, 7)),
    "shufflenet-unit-downsampling": (lambda: shuffle_unit(3, 8, stride=2),
                                     lambda: ShuffleInvertedResidual(3, 8, 2), (2, 3, 7, 6)),
    "se-resnet": (lambda: resnet_small(3, 5, widths=(4, 6, 8), blocks_per_stage=(2, 1, 1),
                                       se_reduction=2),
                  lambda: torch_resnet(3, 5, (4, 6, 8), (2, 1, 1), 2), (2, 3, 11, 9)),
    "mobilenet-v2": (lambda: MobileNetV2(2, 4, settings=MOBILE_SETTINGS, stem_channels=8,
                                         last_channels=32, dropout=0.0),
                     lambda: torch_mobilenet_v2(2, 4, 8, MOBILE_SETTINGS, 32), (2, 2, 9, 11)),
    "shufflenet-v2": (lambda: ShuffleNetV2(3, 4, stages_repeats=(2, 1),
                                           stages_out_channels=(6, 8, 12, 10)),
                      lambda: torch_shufflenet_v2(3, 4, (2, 1), (6, 8, 12, 10)), (2, 3, 10, 7)),
    "lenet5": (lambda: LeNet5(2, 3, input_size=14), lambda: torch_lenet5(2, 3, 2, 16),
               (3, 2, 14, 14)),
    # the default head's Dropout(0.2): random masks differ, so eval mode only (identity in both)
    "mobilenet-v2-dropout": (lambda: MobileNetV2(2, 4, settings=MOBILE_SETTINGS, stem_channels=8,
                                                 last_channels=32),
                             lambda: torch_mobilenet_v2(2, 4, 8, MOBILE_SETTINGS, 32, dropout=0.2),
                             (2, 2, 9, 11)),
}


# -- harness ------------------------------------------------------------------------------------
def setup_pair(layer, module, dtype, rng):
    """Pair parameters in order, give lamina random ones and copy them into torch."""
    layer.astype(dtype)
    module.to(TORCH_DTYPE[dtype])
    ours, theirs = layer.named_parameters(), list(module.named_parameters())
    assert len(ours) == len(theirs), f"{len(ours)} lamina vs {len(theirs)} torch parameters"
    held_by = owners(layer)
    pairs = []
    for (name, p), (torch_name, tp) in zip(ours, theirs):
        owner = held_by[id(p)]
        assert torch_layout(owner, name, p.data).shape == tuple(tp.shape), (name, torch_name)
        # weights scaled by 1/sqrt(fan_in), so activations stay O(1) in nets without BN too
        data = rng.standard_normal(p.shape) / np.sqrt(np.prod(tp.shape[1:]))
        if name.endswith("gamma"):
            data = 0.5 + np.abs(data)
        p.data = data.astype(dtype)
        with torch.no_grad():
            tp.copy_(torch.from_numpy(np.ascontiguousarray(torch_layout(owner, name, p.data))))
        pairs.append((name, p, tp, owner))
    return pairs


def torch_buffers(module):
    return [value for name, value in module.named_buffers() if "num_batches" not in name]


def compare(case, dtype=np.float64, rtol=1e-6, atol=1e-9, training=True, seed=0):
    build, build_torch, x_shape = CASES[case]
    rng = np.random.default_rng(seed)
    layer, module = build(), build_torch()
    pairs = setup_pair(layer, module, dtype, rng)
    buffers = torch_buffers(module)
    assert [value.shape for value in layer.buffers().values()] == \
        [tuple(value.shape) for value in buffers]
    check_network(case, layer, module, pairs, buffers, x_shape, dtype, rtol, atol, training, rng)


# -- tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [case for case in CASES if "dropout" not in case])
def test_against_torch_train_mode(case):
    compare(case)


@pytest.mark.parametrize("case", ["se-resnet-block-width-change", "mobilenet-block-residual",
                                  "shufflenet-unit-downsampling", "se-resnet", "mobilenet-v2",
                                  "shufflenet-v2", "mobilenet-v2-dropout"])
def test_against_torch_eval_mode(case):
    compare(case, training=False, seed=1)


@pytest.mark.parametrize("case", ["se-resnet", "mobilenet-v2", "shufflenet-v2", "lenet5"])
def test_float32_stays_float32(case):
    compare(case, dtype=np.float32, rtol=1e-4, atol=1e-5, seed=2)
