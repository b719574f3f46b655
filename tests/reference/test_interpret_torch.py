"""Saliency and Grad-CAM against the same computations written with torch autograd."""

import numpy as np
import pytest
import torch

import lamina
from lamina import interpret
from lamina import layers as L


def networks(seed=0):
    """A float64 CNN ending in Softmax (with Dropout, so eval mode matters) and its torch twin."""
    rng = np.random.default_rng(seed)
    model = lamina.Sequential([
        L.Conv2D(2, 4, 3, padding=1, name="conv1"), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(4, 6, 3, padding=1, name="conv2"), L.Tanh(name="tanh"), L.Dropout(0.5),
        L.Flatten(), L.Linear(6 * 4 * 4, 5, name="fc"), L.Softmax(),
    ]).astype(np.float64)
    for p in model.parameters():
        p.data = rng.normal(0, 0.5, p.shape)
    features = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.Tanh()).double()
    head = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Flatten(),
                               torch.nn.Linear(96, 5)).double()
    with torch.no_grad():
        for ours, theirs in ((model.layers[0], features[0]), (model.layers[3], features[3])):
            theirs.weight.copy_(torch.from_numpy(ours.weight.data))
            theirs.bias.copy_(torch.from_numpy(ours.bias.data))
        head[2].weight.copy_(torch.from_numpy(model.layers[7].weight.data.T))
        head[2].bias.copy_(torch.from_numpy(model.layers[7].bias.data))
    features.eval(), head.eval()
    x = rng.standard_normal((3, 2, 8, 8))
    return model, features, head, x


@pytest.mark.parametrize("target", [2, [0, 4, 1]])
def test_saliency_equals_torch_input_gradient(target):
    model, features, head, x = networks()
    ours = interpret.saliency(model, x, target)
    x_torch = torch.tensor(x, requires_grad=True)
    logits = head(features(x_torch))
    ids = torch.as_tensor(np.broadcast_to(target, (3,)).copy())
    logits[torch.arange(3), ids].sum().backward()
    np.testing.assert_allclose(ours, x_torch.grad.numpy(), rtol=1e-6, atol=1e-12)
    assert ours.dtype == np.float64 and model.training  # its mode is back


def test_smoothgrad_is_the_mean_of_the_input_gradients_at_noisy_copies():
    model, features, head, x = networks(1)
    ours = interpret.saliency(model, x, 3, samples=4, noise=0.2, seed=7)
    rng = np.random.default_rng(7)
    sigma = 0.2 * (x.max(axis=(1, 2, 3), keepdims=True) - x.min(axis=(1, 2, 3), keepdims=True))
    total = np.zeros_like(x)
    for _ in range(4):
        x_torch = torch.tensor(x + sigma * rng.standard_normal(x.shape), requires_grad=True)
        head(features(x_torch))[:, 3].sum().backward()
        total += x_torch.grad.numpy()
    np.testing.assert_allclose(ours, total / 4, rtol=1e-6, atol=1e-12)


def test_grad_cam_equals_the_torch_computation():
    model, features, head, x = networks(2)
    target = [1, 0, 4]
    ours = interpret.grad_cam(model, x, target, layer="tanh")
    maps = features(torch.from_numpy(x)).detach().requires_grad_(True)
    head(maps)[torch.arange(3), torch.tensor(target)].sum().backward()
    alpha = maps.grad.mean(dim=(2, 3), keepdim=True)
    expected = torch.relu((alpha * maps).sum(dim=1)).detach().numpy()
    assert ours.shape == (3, 4, 4)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-12)
    assert ours.max() > 0
