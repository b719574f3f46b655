"""Every loss under every reduction ("mean", "sum", "none") and with per-sample weights against
torch (float64, rtol 1e-6), on awkward shapes and with weight=, pos_weight=, ignore_index and
label_smoothing; and weighted training steps against torch's weighted loss.

Reduction "none" is compared value by value, and its gradient against that of the sum of
torch's unreduced losses. Sample weights w (N,) against torch's unreduced losses times w along
the batch axis, summed and divided by their count ("mean"), N ("batchmean") or 1 ("sum").
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lamina
from lamina import layers as L
from lamina import losses
from lamina.functional import loss as kernels

WEIGHT5 = [0.3, 2.0, 1.0, 0.7, 5.0]


def _ids(rng, shape, C, ignore_index=None):
    y = rng.integers(0, C, size=shape)
    if ignore_index is not None and y.size > 1:
        y.reshape(-1)[1] = ignore_index
    return y


# name -> (lamina Loss, lamina kernel, torch function of (input, target, reduction),
#          make(rng) -> (pred, target) for lamina, to_torch(target))
def _class_case(loss, kernel, torch_fn, shape, C=5, ignore_index=None, rows=False, probs=False):
    def make(rng):
        scores = 3 * rng.standard_normal(shape)
        if probs:
            scores = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        if rows:
            return scores, rng.dirichlet(np.ones(C), size=shape[0])
        return scores, _ids(rng, (shape[0],) + shape[2:], C, ignore_index)
    return loss, kernel, torch_fn, make


def _elementwise_case(loss, kernel, torch_fn, shape, low=None, unit=False):
    def make(rng):
        pred = rng.uniform(0.02, 0.98, shape) if low == "probs" else 2 * rng.standard_normal(shape)
        target = rng.uniform(0, 1, shape) if unit else rng.standard_normal(shape)
        return pred, target
    return loss, kernel, torch_fn, make


def _log_rows_case(loss, kernel, torch_fn, shape, log_target):
    def make(rng):
        log_input = np.log(rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]))
        target = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
        target.reshape(-1)[0] = 0.0
        return log_input, np.log(target + 1e-3) if log_target else target
    return loss, kernel, torch_fn, make


def t(value):
    return torch.tensor(np.asarray(value, dtype=np.float64))


CASES = {
    "ce-ids": _class_case(
        dict(), kernels.softmax_cross_entropy,
        lambda z, y, r, o: TF.cross_entropy(z, y, reduction=r), (7, 5)),
    "ce-ids-one-row-one-class": _class_case(
        dict(), kernels.softmax_cross_entropy,
        lambda z, y, r, o: TF.cross_entropy(z, y, reduction=r), (1, 1), C=1),
    "ce-weight-smoothing-ignore": _class_case(
        dict(weight=WEIGHT5, label_smoothing=0.3, ignore_index=-1), kernels.softmax_cross_entropy,
        lambda z, y, r, o: TF.cross_entropy(z, y, weight=t(WEIGHT5), label_smoothing=0.3,
                                            ignore_index=-1, reduction=r), (6, 5), ignore_index=-1),
    "ce-rows-weight-smoothing": _class_case(
        dict(weight=WEIGHT5, label_smoothing=0.2), kernels.softmax_cross_entropy,
        lambda z, y, r, o: TF.cross_entropy(z, y, weight=t(WEIGHT5), label_smoothing=0.2,
                                            reduction=r), (6, 5), rows=True),
    "ce-positions-weight-ignore": _class_case(
        dict(weight=WEIGHT5, ignore_index=2, label_smoothing=0.1), kernels.softmax_cross_entropy,
        lambda z, y, r, o: TF.cross_entropy(z, y, weight=t(WEIGHT5), ignore_index=2,
                                            label_smoothing=0.1, reduction=r), (3, 5, 2, 3)),
    "ce-probs-weight-ignore": _class_case(
        dict(from_logits=False, weight=WEIGHT5, ignore_index=0), kernels.cross_entropy_from_probs,
        lambda p, y, r, o: TF.nll_loss(torch.log(p), y, weight=t(WEIGHT5), ignore_index=0,
                                       reduction=r), (6, 5), ignore_index=0, probs=True),
    "nll-weight-ignore": _class_case(
        dict(weight=WEIGHT5, ignore_index=3), kernels.nll_loss,
        lambda x, y, r, o: TF.nll_loss(x, y, weight=t(WEIGHT5), ignore_index=3, reduction=r),
        (8, 5), ignore_index=3),
    "nll-positions": _class_case(
        dict(), kernels.nll_loss, lambda x, y, r, o: TF.nll_loss(x, y, reduction=r), (2, 5, 4)),
    "hinge": _class_case(
        dict(), kernels.hinge_loss,
        lambda s, y, r, o: torch.nn.MultiMarginLoss(reduction=r)(s, y) * s.shape[1], (9, 4), C=4),
    "bce-weight": _elementwise_case(
        dict(weight=[0.5, 2.0, 1.5]), kernels.binary_cross_entropy,
        lambda p, y, r, o: TF.binary_cross_entropy(p, y, weight=t([0.5, 2.0, 1.5]), reduction=r),
        (4, 2, 3), low="probs", unit=True),
    "bce-column": _elementwise_case(
        dict(), kernels.binary_cross_entropy,
        lambda p, y, r, o: TF.binary_cross_entropy(p, y, reduction=r), (5, 1), low="probs",
        unit=True),
    "bce-logits-weight-pos-weight": _elementwise_case(
        dict(weight=[1.0, 0.2, 3.0], pos_weight=[2.0, 0.5, 4.0]),
        kernels.binary_cross_entropy_with_logits,
        lambda x, y, r, o: TF.binary_cross_entropy_with_logits(
            x, y, weight=t([1.0, 0.2, 3.0]), pos_weight=t([2.0, 0.5, 4.0]), reduction=r),
        (5, 3), unit=True),
    "bce-logits-1d": _elementwise_case(
        dict(), kernels.binary_cross_entropy_with_logits,
        lambda x, y, r, o: TF.binary_cross_entropy_with_logits(x, y, reduction=r), (7,),
        unit=True),
    "mse-4d": _elementwise_case(dict(), kernels.mse_loss,
                                lambda p, y, r, o: TF.mse_loss(p, y, reduction=r), (2, 3, 1, 4)),
    "l1": _elementwise_case(dict(), kernels.l1_loss,
                            lambda p, y, r, o: TF.l1_loss(p, y, reduction=r), (1, 6)),
    "smooth-l1-beta": _elementwise_case(
        dict(beta=0.4), kernels.smooth_l1_loss,
        lambda p, y, r, o: TF.smooth_l1_loss(p, y, beta=0.4, reduction=r), (5, 3)),
    "huber-delta": _elementwise_case(
        dict(delta=0.7), kernels.huber_loss,
        lambda p, y, r, o: TF.huber_loss(p, y, delta=0.7, reduction=r), (3, 2, 2)),
    "kl": _log_rows_case(dict(), kernels.kl_div_loss,
                         lambda x, y, r, o: TF.kl_div(x, y, reduction=r), (6, 4), False),
    "kl-log-target-3d": _log_rows_case(
        dict(log_target=True), kernels.kl_div_loss,
        lambda x, y, r, o: TF.kl_div(x, y, reduction=r, log_target=True), (3, 4, 2), True),
}

LOSS_CLASS = {kernels.softmax_cross_entropy: losses.CrossEntropy,
              kernels.cross_entropy_from_probs: losses.CrossEntropy,
              kernels.nll_loss: losses.NLL, kernels.hinge_loss: losses.Hinge,
              kernels.binary_cross_entropy: losses.BCE,
              kernels.binary_cross_entropy_with_logits: losses.BCEWithLogits,
              kernels.mse_loss: losses.MSE, kernels.l1_loss: losses.L1,
              kernels.smooth_l1_loss: losses.SmoothL1, kernels.huber_loss: losses.Huber,
              kernels.kl_div_loss: losses.KLDiv}


def torch_target(target):
    target = torch.tensor(target)
    return target if target.dtype == torch.float64 else target.long()


def torch_unreduced(case, pred, target):
    """torch's reduction='none' losses and the gradient of their sum."""
    _, _, torch_fn, _ = CASES[case]
    pred_t = torch.tensor(pred, requires_grad=True)
    losses_t = torch_fn(pred_t, torch_target(target), "none", None)
    losses_t.sum().backward()
    return losses_t.detach().numpy(), pred_t.grad.numpy()


def torch_reduced(case, pred, target, reduction):
    _, _, torch_fn, _ = CASES[case]
    pred_t = torch.tensor(pred, requires_grad=True)
    loss_t = torch_fn(pred_t, torch_target(target), reduction, None)
    loss_t.backward()
    return loss_t.item(), pred_t.grad.numpy()


def kernel_options(case):
    options, kernel, _, _ = CASES[case]
    return kernel, {k: v for k, v in options.items() if k != "from_logits"}


def assert_close(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12,
                               err_msg=f"{what}: lamina (actual) vs torch (desired)")


# torch warns that its KL "mean" is not the KL divergence
@pytest.mark.filterwarnings("ignore:reduction:UserWarning")
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("case", list(CASES))
def test_kernels_every_reduction(rng, case, reduction):
    pred, target = CASES[case][3](rng)
    kernel, options = kernel_options(case)
    loss, grad = kernel(pred, target, reduction=reduction, **options)
    if reduction == "none":
        ref_losses, ref_grad = torch_unreduced(case, pred, target)
        assert isinstance(loss, np.ndarray) and loss.shape == ref_losses.shape
        assert loss.dtype == pred.dtype
    else:
        ref_losses, ref_grad = torch_reduced(case, pred, target, reduction)
        assert type(loss) is float
    assert_close(loss, ref_losses, f"{case} loss")
    assert_close(grad, ref_grad, f"{case} gradient")


@pytest.mark.parametrize("case, reduction", [
    (case, reduction) for case in CASES for reduction in ("mean", "sum", "none", "batchmean")
    if reduction != "batchmean" or CASES[case][1] is kernels.kl_div_loss])
def test_loss_objects_with_sample_weights(rng, case, reduction):
    """Loss(...)(pred, y, sample_weight=w) == sum(w_i * torch's unreduced losses) / count."""
    options, kernel, _, make = CASES[case]
    pred, target = make(rng)
    weights = rng.uniform(0, 3, size=len(pred))
    weights[0] = 0.0
    loss_obj = LOSS_CLASS[kernel](**options, reduction=reduction)
    loss, grad = loss_obj(pred, target, sample_weight=weights)
    ref_losses, ref_grad = torch_unreduced(case, pred, target)
    along = (-1,) + (1,) * (ref_losses.ndim - 1)
    weighted = ref_losses * weights.reshape(along)
    weighted_grad = ref_grad * weights.reshape((-1,) + (1,) * (ref_grad.ndim - 1))
    divisor = {"mean": ref_losses.size, "batchmean": len(pred), "sum": 1, "none": 1}[reduction]
    if reduction == "none":
        assert_close(loss, weighted, f"{case} weighted losses")
    else:
        assert type(loss) is float
        assert_close(loss, weighted.sum() / divisor, f"{case} weighted loss")
    assert_close(grad, weighted_grad / divisor, f"{case} weighted gradient")


@pytest.mark.parametrize("case", ["ce-ids", "mse-4d", "bce-logits-weight-pos-weight", "kl"])
def test_sample_weights_of_one_are_the_unweighted_loss(rng, case):
    options, kernel, _, make = CASES[case]
    pred, target = make(rng)
    loss_obj = LOSS_CLASS[kernel](**options)
    unweighted, weighted = loss_obj(pred, target), loss_obj(pred, target, np.ones(len(pred)))
    assert weighted[0] == pytest.approx(unweighted[0], rel=1e-12)
    np.testing.assert_allclose(weighted[1], unweighted[1], rtol=1e-12)


# -- training steps with sample weights ----------------------------------------------------------
def two_layer_pair(rng):
    lamina.seed(0)
    ours = lamina.Sequential([L.Linear(4, 6), L.Tanh(), L.Linear(6, 3)])
    ours.build((None, 4))
    ours.astype(np.float64)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(),
                                 torch.nn.Linear(6, 3)).double()
    for layer, module in zip(ours.layers, theirs):
        if isinstance(layer, L.Linear):
            layer.bias.data = rng.uniform(-0.5, 0.5, layer.bias.shape)
            module.weight.data = torch.tensor(layer.weight.data.T.copy())
            module.bias.data = torch.tensor(layer.bias.data.copy())
    return ours, theirs


def torch_weights(theirs):
    return [array for module in theirs if isinstance(module, torch.nn.Linear)
            for array in (module.weight.detach().numpy().T, module.bias.detach().numpy())]


@pytest.mark.parametrize("loss, torch_loss", [
    ("cross_entropy", lambda z, y: TF.cross_entropy(z, y, reduction="none")),
    (losses.CrossEntropy(weight=[0.5, 2.0, 1.0], label_smoothing=0.1),
     lambda z, y: TF.cross_entropy(z, y, weight=t([0.5, 2.0, 1.0]), label_smoothing=0.1,
                                   reduction="none")),
], ids=["cross_entropy", "class-weights-smoothing"])
def test_weighted_steps_match_torch(rng, loss, torch_loss):
    """A hand loop of compute_loss_and_gradients(x, y, sample_weight=w) and the optimizer's
    step equals torch minimising sum_i w_i l_i / N with the same SGD (momentum)."""
    ours, theirs = two_layer_pair(rng)
    ours.compile(loss=loss, optimizer=lamina.optim.SGD(lr=0.2, momentum=0.9))
    their_opt = torch.optim.SGD(theirs.parameters(), lr=0.2, momentum=0.9)
    x, y = rng.standard_normal((10, 4)), rng.integers(0, 3, 10)
    weights = rng.uniform(0, 3, 10)
    for step in range(4):
        batch = slice(step % 2 * 5, step % 2 * 5 + 5)
        loss_value, _ = ours.compute_loss_and_gradients(x[batch], y[batch],
                                                        sample_weight=weights[batch])
        ours.apply_gradients()
        their_opt.zero_grad()
        per_sample = torch_loss(theirs(torch.tensor(x[batch])), torch.tensor(y[batch]))
        their_loss = (per_sample * torch.tensor(weights[batch])).sum() / 5
        their_loss.backward()
        their_opt.step()
        assert loss_value == pytest.approx(their_loss.item(), rel=1e-6)
    for a, b in zip([p.data for p in ours.parameters()], torch_weights(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-10)
