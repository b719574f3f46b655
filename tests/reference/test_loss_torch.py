"""Loss kernels against torch.nn.functional: values and input gradients (float64, rtol 1e-6)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from lamina.functional.loss import hinge_loss, mse_loss, softmax_cross_entropy

SHAPES = [(1, 1), (1, 5), (4, 3), (9, 10)]


def torch_loss_and_grad(loss_fn, x):
    x_t = torch.tensor(x, requires_grad=True)
    loss = loss_fn(x_t)
    loss.backward()
    return loss.item(), x_t.grad.numpy()


def assert_matches(ours, reference, rtol=1e-6, atol=1e-12):
    (loss, grad), (ref_loss, ref_grad) = ours, reference
    assert loss == pytest.approx(ref_loss, rel=rtol, abs=atol), f"lamina {loss}  torch {ref_loss}"
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=atol,
                               err_msg="lamina gradient (actual) vs torch (desired)")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_cross_entropy_class_ids(rng, shape, scale):
    logits = scale * rng.standard_normal(shape)
    y = rng.integers(0, shape[1], size=shape[0])
    reference = torch_loss_and_grad(lambda z: TF.cross_entropy(z, torch.tensor(y)), logits)
    assert_matches(softmax_cross_entropy(logits, y), reference)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("targets", ["probabilities", "one_hot", "unnormalised"])
def test_cross_entropy_probability_targets(rng, shape, targets):
    N, C = shape
    logits = 3 * rng.standard_normal(shape)
    y = {"probabilities": lambda: rng.dirichlet(np.ones(C), size=N),
         "one_hot": lambda: np.eye(C)[rng.integers(0, C, size=N)],
         "unnormalised": lambda: rng.uniform(0, 2, size=shape)}[targets]()
    reference = torch_loss_and_grad(lambda z: TF.cross_entropy(z, torch.tensor(y)), logits)
    assert_matches(softmax_cross_entropy(logits, y), reference)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-6)])
def test_cross_entropy_extreme_logits(dtype, rtol):
    logits = np.array([[0.0, 1e4, -1e4], [250.0, 0.0, 50.0], [-3e3, -3e3, -3e3]], dtype)
    y = np.array([0, 1, 2])
    reference = torch_loss_and_grad(lambda z: TF.cross_entropy(z, torch.tensor(y)), logits)
    assert_matches(softmax_cross_entropy(logits, y), reference, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("shape", [(1, 2), (4, 3), (9, 10)])
def test_hinge_is_multi_margin_times_classes(rng, shape):
    scores = rng.standard_normal(shape)
    y = rng.integers(0, shape[1], size=shape[0])
    criterion = torch.nn.MultiMarginLoss()
    reference = torch_loss_and_grad(lambda s: criterion(s, torch.tensor(y)) * shape[1], scores)
    assert_matches(hinge_loss(scores, y), reference)


@pytest.mark.parametrize("shape", [(1,), (5, 3), (2, 3, 4)])
def test_mse_loss(rng, shape):
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    reference = torch_loss_and_grad(lambda p: TF.mse_loss(p, torch.tensor(target)), pred)
    assert_matches(mse_loss(pred, target), reference)
