"""Graphs beyond a chain against PyTorch: ResNet basic blocks, squeeze-and-excitation, inception.

Each network is written once, as a function of a factory (`LAMINA` or `TORCH`), so both
libraries build the same graph. On the torch side a residual is ``block(x) + shortcut(x)``
in a module with attributes ``block`` / ``shortcut``, a merge an ``nn.ModuleList`` whose
forward combines its branches, and global pooling ``nn.AdaptiveAvgPool2d(1)``. Parameter
names must then agree one to one (lamina's gamma/beta are torch's weight/bias), which is
also how the weights are copied. Compared: output, input gradient, every parameter
gradient and the BN running statistics; float64 to rtol 1e-6, one float32 case to 1e-4.
"""

import functools
import operator
import re

import numpy as np
import pytest
import torch
from torch import nn

from lamina import layers as L
from lamina.model import Sequential

from .network_harness import TORCH_DTYPE, check_network, owners, torch_layout



class TorchResidual(nn.Module):
    def __init__(self, block, shortcut=None):
        super().__init__()
        self.block, self.shortcut = block, shortcut

    def forward(self, x):
        return self.block(x) + (x if self.shortcut is None else self.shortcut(x))


class TorchMerge(nn.ModuleList):
    def __init__(self, branches, combine):
        super().__init__(branches)
        self.combine = combine

    def forward(self, x):
        return self.combine([branch(x) for branch in self])


LAMINA = dict(
    seq=lambda *layers: Sequential(list(layers)), conv=L.Conv2D, bn=L.BatchNorm2D, relu=L.ReLU,
    sigmoid=L.Sigmoid, maxpool=L.MaxPool2D, global_pool=L.AvgPool2D, flatten=L.Flatten,
    linear=L.Linear, residual=L.Residual, concat=L.Concat, add=L.Add, multiply=L.Multiply)
TORCH = dict(
    seq=nn.Sequential, conv=nn.Conv2d, bn=nn.BatchNorm2d, relu=nn.ReLU, sigmoid=nn.Sigmoid,
    maxpool=nn.MaxPool2d, global_pool=lambda hw: nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten,
    linear=nn.Linear, residual=TorchResidual,
    concat=lambda branches: TorchMerge(branches, lambda outs: torch.cat(outs, dim=1)),
    add=lambda branches: TorchMerge(branches, lambda outs: functools.reduce(operator.add, outs)),
    multiply=lambda branches: TorchMerge(branches,
                                         lambda outs: functools.reduce(operator.mul, outs)))


# -- the networks, written once -----------------------------------------------------------------
def squeeze_excite(f, channels, hw, reduced):
    gate = f["seq"](f["global_pool"](hw), f["conv"](channels, reduced, 1), f["relu"](),
                    f["conv"](reduced, channels, 1), f["sigmoid"]())
    return f["multiply"]([f["seq"](), gate])


def basic_block(f, cin, cout, stride=1, se_hw=None):
    """ResNet basic block + ReLU; a 1x1 conv-BN shortcut when the shape changes; optional SE."""
    body = [f["conv"](cin, cout, 3, stride=stride, padding=1, bias=False), f["bn"](cout),
            f["relu"](), f["conv"](cout, cout, 3, padding=1, bias=False), f["bn"](cout)]
    if se_hw is not None:
        body.append(squeeze_excite(f, cout, se_hw, max(cout // 2, 1)))
    shortcut = None
    if stride != 1 or cin != cout:
        shortcut = f["seq"](f["conv"](cin, cout, 1, stride=stride, bias=False), f["bn"](cout))
    return f["seq"](f["residual"](f["seq"](*body), shortcut), f["relu"]())


def inception(f, cin):
    return f["concat"]([
        f["conv"](cin, 2, 1),
        f["seq"](f["conv"](cin, 3, 1), f["relu"](), f["conv"](3, 4, 3, padding=1)),
        f["seq"](f["conv"](cin, 4, 1), f["conv"](4, 2, 3, padding=2, dilation=2, groups=2)),
        f["seq"](f["maxpool"](3, 1, 1), f["conv"](cin, 3, 1)),
    ])


def reduction(f, cin):
    """Inception-style grid reduction: three stride-2 paths meeting at the same size."""
    return f["concat"]([
        f["conv"](cin, 3, 3, stride=2, padding=1),
        f["maxpool"](3, 2, 1),
        f["seq"](f["conv"](cin, 4, 1, bias=False),
                 f["conv"](4, 4, (3, 2), stride=2, padding=1, groups=4)),
    ])


def small_resnet(f, cin=2, hw=(9, 7)):
    down = ((hw[0] + 1) // 2, (hw[1] + 1) // 2)
    return f["seq"](
        f["conv"](cin, 4, 3, padding=1, bias=False), f["bn"](4), f["relu"](),
        basic_block(f, 4, 4, se_hw=hw),
        basic_block(f, 4, 6, stride=2),
        f["global_pool"](down), f["flatten"](), f["linear"](6, 5))


CASES = {  # name: (builder(factory), x shape)
    "resnet-projection-stride2": (lambda f: basic_block(f, 3, 4, stride=2), (2, 3, 7, 9)),
    "resnet-identity": (lambda f: basic_block(f, 4, 4), (3, 4, 5, 6)),
    "se-resnet-channels-change": (lambda f: basic_block(f, 4, 6, se_hw=(6, 5)), (2, 4, 6, 5)),
    "inception-dilation-groups": (lambda f: inception(f, 4), (2, 4, 7, 5)),
    "reduction-stride2-groups": (lambda f: reduction(f, 4), (3, 4, 9, 7)),
    "add-broadcast-gate": (lambda f: f["add"]([
        f["conv"](3, 4, 3, padding=1),
        f["seq"](f["global_pool"]((5, 4)), f["conv"](3, 4, 1)),
        f["seq"](f["conv"](3, 4, 1, bias=False), f["bn"](4))]), (2, 3, 5, 4)),
    "small-resnet": (small_resnet, (3, 2, 9, 7)),
}


# -- harness ------------------------------------------------------------------------------------
def torch_name(name):
    return re.sub(r"\bgamma$", "weight", re.sub(r"\bbeta$", "bias", name))


def setup_pair(layer, module, dtype, rng):
    """Same dtype, random lamina weights copied into torch by name; returns the pairs."""
    layer.astype(dtype)
    module.to(TORCH_DTYPE[dtype])
    theirs = dict(module.named_parameters())
    ours = layer.named_parameters()
    assert [torch_name(name) for name, _ in ours] == list(theirs), "parameter names differ"
    held_by = owners(layer)
    pairs = []
    for name, p in ours:
        data = rng.standard_normal(p.shape)
        if name.endswith("gamma"):
            data = 0.5 + np.abs(data)
        p.data = data.astype(dtype)
        tp = theirs[torch_name(name)]
        with torch.no_grad():
            copy = torch_layout(held_by[id(p)], name, p.data)
            tp.copy_(torch.from_numpy(np.ascontiguousarray(copy)))
        pairs.append((name, p, tp, held_by[id(p)]))
    return pairs


def compare(case, dtype=np.float64, rtol=1e-6, atol=1e-9, training=True, seed=0):
    build, x_shape = CASES[case]
    rng = np.random.default_rng(seed)
    layer, module = build(LAMINA), build(TORCH)
    pairs = setup_pair(layer, module, dtype, rng)
    named = dict(module.named_buffers())
    buffers = [named[torch_name(name)] for name in layer.buffers()]
    check_network(case, layer, module, pairs, buffers, x_shape, dtype, rtol, atol, training, rng)


# -- tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_against_torch_train_mode(case):
    compare(case)


@pytest.mark.parametrize("case", ["se-resnet-channels-change", "small-resnet"])
def test_against_torch_eval_mode(case):
    compare(case, training=False, seed=1)


def test_small_resnet_float32_stays_float32():
    compare("small-resnet", dtype=np.float32, rtol=1e-4, atol=1e-5, seed=2)


def test_state_names_are_torch_names():
    """Beyond the pairing in setup_pair: buffers carry torch's names too."""
    layer, module = small_resnet(LAMINA), small_resnet(TORCH)
    torch_buffers = {name for name in dict(module.named_buffers()) if "num_batches" not in name}
    assert set(layer.buffers()) == torch_buffers
    se_conv = "3.0.block.5.1.3.weight"  # block 3, its Residual, SE in the body, gate, 2nd conv
    assert se_conv in dict(layer.named_parameters()) and se_conv in dict(module.named_parameters())
