"""Whole training steps against PyTorch: same weights, same batches, same optimizer -> same weights."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers as L


# The layers right before a batch norm have no bias: its true gradient is exactly 0, so each
# side's optimizer would step on its own rounding noise there (Adam normalises it to ~lr).
def lamina_net():
    return lamina.Sequential([
        L.Conv2D(2, 4, 3, stride=2, padding=1, bias=False), L.BatchNorm2D(4), L.ReLU(),
        L.Conv2D(4, 6, (2, 3), dilation=(1, 2), groups=2), L.Tanh(), L.MaxPool2D(2, stride=1),
        L.ConvTranspose2D(6, 3, 3, stride=2, output_padding=1), L.AvgPool2D(2),
        L.Flatten(), L.Linear(None, 8, bias=False), L.BatchNorm1D(8), L.Sigmoid(), L.Linear(8, 5),
    ])


def torch_net():
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Conv2d(4, 6, (2, 3), dilation=(1, 2), groups=2), torch.nn.Tanh(),
        torch.nn.MaxPool2d(2, stride=1), torch.nn.ConvTranspose2d(6, 3, 3, stride=2, output_padding=1),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.LazyLinear(8, bias=False), torch.nn.BatchNorm1d(8),
        torch.nn.Sigmoid(), torch.nn.Linear(8, 5),
    ).double()


def copy_weights(ours, theirs):
    for layer, module in zip(ours.layers, theirs):
        if isinstance(layer, L.Linear):
            module.weight.data = torch.tensor(layer.weight.data.T.copy())
        elif isinstance(layer, (L.Conv2D, L.ConvTranspose2D)):
            module.weight.data = torch.tensor(layer.weight.data)
        if getattr(layer, "bias", None) is not None and not isinstance(layer.bias, bool):
            module.bias.data = torch.tensor(layer.bias.data)


def torch_params(theirs, ours):
    result = []
    for layer, module in zip(ours.layers, theirs):
        if isinstance(layer, L.Linear):
            result.append(module.weight.detach().numpy().T)
        elif layer.parameters():
            result.append(module.weight.detach().numpy())
        if layer.parameters() and module.bias is not None:
            result.append(module.bias.detach().numpy())
    return result


@pytest.mark.parametrize("make_optimizers", [
    lambda: (lamina.optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
             lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    lambda: (lamina.optim.Adam(lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    lambda: (lamina.optim.RMSProp(lr=1e-2), lambda p: torch.optim.RMSprop(p, lr=1e-2)),
], ids=["sgd-nesterov", "adam", "rmsprop"])
def test_training_steps_match_pytorch(make_optimizers):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 13, 13))
    y = rng.integers(0, 5, 6)
    lamina.seed(0)
    ours = lamina_net()
    ours.build((None,) + x.shape[1:])
    ours.astype(np.float64)
    for p in ours.parameters():  # non-zero biases, so every gradient path is exercised
        p.data = p.data + rng.uniform(-0.1, 0.1, p.shape)
    theirs = torch_net()
    theirs.eval()(torch.tensor(x))  # materialise LazyLinear without touching running stats
    theirs.train()
    copy_weights(ours, theirs)
    for layer, module in zip(ours.layers, theirs):
        if isinstance(layer, (L.BatchNorm1D, L.BatchNorm2D)):
            module.weight.data = torch.tensor(layer.gamma.data)
            module.bias.data = torch.tensor(layer.beta.data)
    our_opt, their_opt_factory = make_optimizers()
    their_opt = their_opt_factory(theirs.parameters())
    ours.compile("cross_entropy", our_opt)
    for step in range(4):
        batch = slice(step % 2 * 3, step % 2 * 3 + 3)
        loss, _ = ours.train_step(x[batch], y[batch])
        their_opt.zero_grad()
        their_loss = torch.nn.functional.cross_entropy(theirs(torch.tensor(x[batch])), torch.tensor(y[batch]))
        their_loss.backward()
        their_opt.step()
        np.testing.assert_allclose(loss, their_loss.item(), rtol=1e-6)
    for a, b in zip([p.data for p in ours.parameters()], torch_params(theirs, ours)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    bn = [m for m in theirs if isinstance(m, torch.nn.BatchNorm2d)][0]
    np.testing.assert_allclose(ours.layers[1].running_var, bn.running_var.numpy(), rtol=1e-6)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours.forward(x), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-10)
