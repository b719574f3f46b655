"""Loss kernels against torch.nn.functional: values and input gradients (float64 to rtol 1e-6,
float32 cases to 1e-5 with no upcast), with every option PyTorch has for them."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from lamina.functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                    hinge_loss, huber_loss, kl_div_loss, l1_loss, mse_loss,
                                    nll_loss, smooth_l1_loss, softmax_cross_entropy)

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


# -- cross-entropy options: class weights, label smoothing, ignore_index, reduction ---------------
CE_OPTIONS = {
    "weight": dict(weight=[0.3, 2.0, 1.0, 0.7, 5.0]),
    "smoothing": dict(label_smoothing=0.1),
    "weight+smoothing": dict(weight=[0.3, 2.0, 1.0, 0.7, 5.0], label_smoothing=0.25),
    "ignore": dict(ignore_index=2),
    "weight+smoothing+ignore": dict(weight=[0.3, 2.0, 1.0, 0.7, 5.0], label_smoothing=0.4,
                                    ignore_index=-1),
    "sum": dict(weight=[0.3, 2.0, 1.0, 0.7, 5.0], label_smoothing=0.2, reduction="sum"),
    "smoothing-1": dict(label_smoothing=1.0),
}


def torch_options(options, dtype=torch.float64):
    """lamina's keyword arguments as torch's: weight as a tensor of the input's dtype."""
    return {key: torch.tensor(value, dtype=dtype) if key in ("weight", "pos_weight") else value
            for key, value in options.items()}


@pytest.mark.parametrize("options", CE_OPTIONS.values(), ids=list(CE_OPTIONS))
@pytest.mark.parametrize("targets", ["ids", "probabilities"])
def test_cross_entropy_options(rng, options, targets):
    N, C = 7, 5
    logits = 3 * rng.standard_normal((N, C))
    if targets == "ids":
        y = np.array([0, 4, 2, 1, 3, 2, options.get("ignore_index", 4)])
        y_torch = torch.tensor(y)
    else:
        y = rng.dirichlet(np.ones(C), size=N)
        y_torch = torch.tensor(y)
        options = {k: v for k, v in options.items() if k != "ignore_index"}
    reference = torch_loss_and_grad(
        lambda z: TF.cross_entropy(z, y_torch, **torch_options(options)), logits)
    assert_matches(softmax_cross_entropy(logits, y, **options), reference)


@pytest.mark.parametrize("options", [dict(weight=[1.0, 0.2, 3.0]), dict(label_smoothing=0.3),
                                     dict(weight=[1.0, 0.2, 3.0], label_smoothing=0.3)])
def test_cross_entropy_options_extreme_logits_float32(options):
    """float32, gaps of 1e4: log-sum-exp keeps it exact, smoothing's sum over classes too."""
    logits = np.array([[0.0, 1e4, -1e4], [250.0, 0.0, 50.0], [-3e3, -3e3, -3e3]], np.float32)
    y = np.array([0, 1, 2])
    reference = torch_loss_and_grad(
        lambda z: TF.cross_entropy(z, torch.tensor(y), **torch_options(options, torch.float32)),
        logits)
    loss, dlogits = softmax_cross_entropy(logits, y, **options)
    assert dlogits.dtype == np.float32
    assert_matches((loss, dlogits), reference, rtol=1e-5, atol=1e-6)


def test_cross_entropy_every_target_ignored_is_nan_as_torch():
    logits = np.array([[1.0, 2.0], [0.5, 0.0]])
    y = np.array([-100, -100])
    ref_loss, ref_grad = torch_loss_and_grad(lambda z: TF.cross_entropy(z, torch.tensor(y)), logits)
    loss, grad = softmax_cross_entropy(logits, y)
    assert np.isnan(ref_loss) and np.isnan(loss)
    np.testing.assert_array_equal(grad, ref_grad)


@pytest.mark.parametrize("options", [{}, dict(weight=[0.5, 1.5, 1.0, 3.0]), dict(ignore_index=0),
                                     dict(weight=[0.5, 1.5, 1.0, 3.0], ignore_index=3,
                                          reduction="sum")])
@pytest.mark.parametrize("shape", [(1, 4), (9, 4)])
def test_nll_loss(rng, options, shape):
    log_probs = np.log(rng.dirichlet(np.ones(shape[1]), size=shape[0]))
    y = rng.integers(0, shape[1], size=shape[0])
    y[0] = 1  # never every row ignored
    reference = torch_loss_and_grad(
        lambda x: TF.nll_loss(x, torch.tensor(y), **torch_options(options)), log_probs)
    assert_matches(nll_loss(log_probs, y, **options), reference)


# -- binary cross-entropy ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (6, 1), (4, 3), (2, 3, 5)])
@pytest.mark.parametrize("options", [{}, dict(weight="last"), dict(reduction="sum")])
def test_binary_cross_entropy(rng, shape, options):
    if options.get("weight") == "last":
        options = dict(weight=rng.uniform(0.1, 3.0, size=shape[-1:]).tolist())
    probs = rng.uniform(0.01, 0.99, size=shape)
    target = rng.uniform(0, 1, size=shape)
    target.reshape(-1)[:2] = [0.0, 1.0]
    reference = torch_loss_and_grad(
        lambda p: TF.binary_cross_entropy(p, torch.tensor(target), **torch_options(options)), probs)
    assert_matches(binary_cross_entropy(probs, target, **options), reference)


def test_binary_cross_entropy_at_certain_predictions():
    """p exactly 0 or 1: torch clamps the logs at -100 and the gradient's divisor at 1e-12."""
    probs = np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5])
    target = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.3])
    reference = torch_loss_and_grad(lambda p: TF.binary_cross_entropy(p, torch.tensor(target)), probs)
    assert_matches(binary_cross_entropy(probs, target), reference)


@pytest.mark.parametrize("shape", [(5,), (6, 1), (4, 3), (2, 3, 5)])
@pytest.mark.parametrize("options", [{}, dict(weight="last"), dict(pos_weight="last"),
                                     dict(weight="last", pos_weight="last", reduction="sum")])
def test_binary_cross_entropy_with_logits(rng, shape, options):
    options = {key: rng.uniform(0.2, 4.0, size=shape[-1:]).tolist() if value == "last" else value
               for key, value in options.items()}
    logits = 4 * rng.standard_normal(shape)
    target = rng.uniform(0, 1, size=shape)
    reference = torch_loss_and_grad(
        lambda x: TF.binary_cross_entropy_with_logits(x, torch.tensor(target), **torch_options(options)),
        logits)
    assert_matches(binary_cross_entropy_with_logits(logits, target, **options), reference)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-6)])
def test_binary_cross_entropy_with_logits_extreme(dtype, rtol):
    logits = np.array([[1e4, -1e4, 90.0], [-90.0, 1e30, 0.0]], dtype)
    target = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 1.0]], dtype)
    pos_weight = [2.0, 0.5, 1.0]
    reference = torch_loss_and_grad(lambda x: TF.binary_cross_entropy_with_logits(
        x, torch.tensor(target), pos_weight=torch.tensor(pos_weight, dtype=x.dtype)), logits)
    loss, dlogits = binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
    assert dlogits.dtype == dtype and np.isfinite(loss)
    assert_matches((loss, dlogits), reference, rtol=rtol, atol=1e-7)


# -- regression losses ---------------------------------------------------------------------------
REGRESSION = {  # name -> (lamina kernel, torch function, options)
    "l1": (l1_loss, TF.l1_loss, {}),
    "smooth_l1": (smooth_l1_loss, TF.smooth_l1_loss, {}),
    "smooth_l1-beta0.3": (smooth_l1_loss, TF.smooth_l1_loss, dict(beta=0.3)),
    "smooth_l1-beta0": (smooth_l1_loss, TF.smooth_l1_loss, dict(beta=0.0)),
    "huber": (huber_loss, TF.huber_loss, {}),
    "huber-delta2.5": (huber_loss, TF.huber_loss, dict(delta=2.5)),
    "huber-delta0.3-sum": (huber_loss, TF.huber_loss, dict(delta=0.3, reduction="sum")),
    "mse-sum": (mse_loss, TF.mse_loss, dict(reduction="sum")),
}


@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("shape", [(1,), (5, 3), (2, 3, 4)])
def test_regression_losses(rng, name, shape):
    ours, theirs, options = REGRESSION[name]
    pred, target = 2 * rng.standard_normal(shape), rng.standard_normal(shape)
    reference = torch_loss_and_grad(lambda p: theirs(p, torch.tensor(target), **options), pred)
    assert_matches(ours(pred, target, **options), reference)


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_kinks(name):
    """d = pred - target exactly 0, +-beta / +-delta, +-1: the gradient torch defines there."""
    ours, theirs, options = REGRESSION[name]
    kink = options.get("beta", options.get("delta", 1.0))
    target = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    pred = target + np.array([0.0, kink, -kink, 1.0, -1.0, 0.25])
    reference = torch_loss_and_grad(lambda p: theirs(p, torch.tensor(target), **options), pred)
    assert_matches(ours(pred, target, **options), reference)


@pytest.mark.parametrize("name", ["l1", "smooth_l1-beta0.3", "huber-delta2.5"])
def test_regression_float32(rng, name):
    ours, theirs, options = REGRESSION[name]
    pred = (3 * rng.standard_normal((6, 7))).astype(np.float32)
    target = rng.standard_normal((6, 7)).astype(np.float32)
    reference = torch_loss_and_grad(lambda p: theirs(p, torch.tensor(target), **options), pred)
    loss, grad = ours(pred, target, **options)
    assert grad.dtype == np.float32
    assert_matches((loss, grad), reference, rtol=1e-5, atol=1e-7)


# -- KL divergence -------------------------------------------------------------------------------
# torch warns that its "mean" is not the KL divergence (lamina defaults to "batchmean")
@pytest.mark.filterwarnings("ignore:reduction:UserWarning")
@pytest.mark.parametrize("reduction", ["batchmean", "mean", "sum"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(1, 4), (6, 5), (3, 4, 2)])
def test_kl_div(rng, reduction, log_target, shape):
    log_input = np.log(rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]))
    target = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    target.reshape(-1)[0] = 0.0  # 0 log 0 = 0, as torch's xlogy
    if log_target:
        target = np.log(target + 1e-3)
    reference = torch_loss_and_grad(lambda x: TF.kl_div(
        x, torch.tensor(target), reduction=reduction, log_target=log_target), log_input)
    assert_matches(kl_div_loss(log_input, target, log_target, reduction), reference)
