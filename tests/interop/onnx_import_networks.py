"""PyTorch networks for the ONNX import tests, and their export (both torch exporters): an
MLP, a CNN with batch norm ending in Softmax, a LeNet-like CNN (view(N, -1)), a residual
block, a two-input network joined by Concat, a small U-Net (GroupNorm, SiLU, Upsample,
Concat), Linear layers over a sequence (MatMul over the last axis).

Each entry of NETWORKS builds a small torch module and its example inputs; `export` writes it
with the TorchScript exporter (dynamo=False) or the torch.export one (dynamo=True), batch axis
dynamic, opset 17. keep_batch_norm exports without constant folding, so BatchNormalization
stays a node (trainable) instead of being folded into the convolution before it.
"""

import contextlib
import io
import warnings

import torch
from torch import nn


class Flat(nn.Module):
    """x.view(N, -1): the TorchScript exporter writes Shape -> Gather -> Concat -> Reshape."""

    def forward(self, x):
        return x.view(x.size(0), -1)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)
        self.conv2, self.bn2 = nn.Conv2d(3, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3)
        self.head = nn.Linear(3, 4)

    def forward(self, x):
        h = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        h = torch.relu(h + x)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.left, self.right, self.head = nn.Linear(5, 4), nn.Linear(3, 4), nn.Linear(8, 2)

    def forward(self, x, y):
        left = nn.functional.gelu(self.left(x))
        right = nn.functional.leaky_relu(self.right(y), 0.1)
        return torch.sigmoid(self.head(torch.cat([left, right], dim=1)))


class TinyUNet(nn.Module):
    """Down by a max pool, up by bilinear upsampling, the skip joined by Concat."""

    def __init__(self):
        super().__init__()
        self.down, self.middle = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.norm = nn.GroupNorm(2, 4)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        skip = torch.relu(self.down(x))
        h = self.norm(self.middle(nn.functional.max_pool2d(skip, 2)))
        h = self.up(nn.functional.silu(h))
        return self.out(torch.cat([skip, h], dim=1))


def _mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3),
                         nn.ELU()), [(6,)]


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 5),
                         nn.Softmax(dim=1)), [(1, 8, 8)]


def _lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 8, 5), nn.ReLU6(), nn.MaxPool2d(2), Flat(),
                         nn.Linear(8 * 2 * 2, 16), nn.ReLU(), nn.Linear(16, 10)), [(1, 16, 16)]


NETWORKS = {"mlp": _mlp, "cnn": _cnn, "lenet": _lenet,
            "residual": lambda: (Residual(), [(3, 6, 6)]),
            "two_inputs": lambda: (TwoInputs(), [(5,), (3,)]),
            "unet": lambda: (TinyUNet(), [(1, 6, 6)]),
            "sequence": lambda: (nn.Sequential(nn.Linear(5, 4), nn.GELU(), nn.Linear(4, 3),
                                               nn.Softmax(dim=-1)), [(6, 5)])}


def network(name, seed=0):
    """(module in eval mode with non-trivial running statistics, example shapes)."""
    torch.manual_seed(seed)
    module, shapes = NETWORKS[name]()
    for layer in module.modules():
        if isinstance(layer, nn.GroupNorm):
            layer.weight.data.uniform_(0.5, 1.5)
            layer.bias.data.uniform_(-0.5, 0.5)
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 1.5)
            layer.weight.data.uniform_(0.5, 1.5)
            layer.bias.data.uniform_(-0.5, 0.5)
    return module.eval(), shapes


def export(module, shapes, path, dynamo, keep_batch_norm=False, dtype=torch.float32):
    """torch.onnx.export at opset 17, batch axis dynamic; inputs named x0, x1, ... (integer
    dtypes: ids in [0, 10))."""
    args = tuple(torch.randn(2, *shape) if dtype.is_floating_point
                 else torch.randint(0, 10, (2, *shape), dtype=dtype) for shape in shapes)
    names = [f"x{i}" for i in range(len(shapes))]
    if dynamo:
        options = dict(dynamic_shapes=tuple({0: torch.export.Dim("batch")} for _ in shapes),
                       optimize=not keep_batch_norm)
    else:
        options = dict(dynamic_axes={name: {0: "batch"} for name in names},
                       do_constant_folding=not keep_batch_norm)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), input_names=names, opset_version=17,
                          dynamo=dynamo, **options)
    return path
