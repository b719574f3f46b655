"""Loss objects: delegation to the kernels, names, configs and get()."""

import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina import losses
from lamina.errors import ConfigError
from lamina.functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                    cross_entropy_from_probs, hinge_loss, huber_loss,
                                    kl_div_loss, l1_loss, mse_loss, nll_loss, smooth_l1_loss,
                                    softmax_cross_entropy)


@pytest.fixture
def batch(rng):
    return rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)


CLASS_OPTIONS = dict(weight=[0.5, 1.0, 2.0, 4.0], ignore_index=1)


@pytest.mark.parametrize("loss_obj, kernel, options", [
    (losses.CrossEntropy(), softmax_cross_entropy, {}),
    (losses.CrossEntropy(from_logits=False), cross_entropy_from_probs, {}),
    (losses.Hinge(), hinge_loss, {}),
    (losses.CrossEntropy(label_smoothing=0.2, reduction="sum", **CLASS_OPTIONS),
     softmax_cross_entropy, dict(label_smoothing=0.2, reduction="sum", **CLASS_OPTIONS)),
    (losses.CrossEntropy(False, label_smoothing=0.2, **CLASS_OPTIONS), cross_entropy_from_probs,
     dict(label_smoothing=0.2, **CLASS_OPTIONS)),
    (losses.NLL(), nll_loss, {}),
    (losses.NLL(reduction="sum", **CLASS_OPTIONS), nll_loss, dict(reduction="sum", **CLASS_OPTIONS)),
    (losses.CrossEntropy(label_smoothing=0.2, reduction="none", **CLASS_OPTIONS),
     softmax_cross_entropy, dict(label_smoothing=0.2, reduction="none", **CLASS_OPTIONS)),
    (losses.NLL(reduction="none", **CLASS_OPTIONS), nll_loss,
     dict(reduction="none", **CLASS_OPTIONS)),
    (losses.Hinge(reduction="none"), hinge_loss, dict(reduction="none")),
    (losses.Hinge(reduction="sum"), hinge_loss, dict(reduction="sum")),
])
def test_objects_delegate_to_kernels(batch, loss_obj, kernel, options):
    scores, y = batch
    scores = np.abs(scores) / np.abs(scores).max() if kernel is cross_entropy_from_probs else scores
    loss, grad = loss_obj(scores, y)
    expected_loss, expected_grad = kernel(scores, y, **options)
    assert type(loss) is type(expected_loss)
    np.testing.assert_array_equal(loss, expected_loss)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("loss_obj, kernel, options", [
    (losses.BCE(), binary_cross_entropy, {}),
    (losses.BCE(weight=[1.0, 2.0, 0.5, 1.0], reduction="sum"), binary_cross_entropy,
     dict(weight=[1.0, 2.0, 0.5, 1.0], reduction="sum")),
    (losses.BCEWithLogits(), binary_cross_entropy_with_logits, {}),
    (losses.BCEWithLogits(weight=[2.0], pos_weight=[1.0, 2.0, 3.0, 4.0]),
     binary_cross_entropy_with_logits, dict(weight=[2.0], pos_weight=[1.0, 2.0, 3.0, 4.0])),
    (losses.MSE(reduction="sum"), mse_loss, dict(reduction="sum")),
    (losses.L1(), l1_loss, {}),
    (losses.SmoothL1(beta=0.3), smooth_l1_loss, dict(beta=0.3)),
    (losses.Huber(delta=0.7, reduction="sum"), huber_loss, dict(delta=0.7, reduction="sum")),
    (losses.KLDiv(), kl_div_loss, {}),
    (losses.KLDiv(log_target=True, reduction="mean"), kl_div_loss,
     dict(log_target=True, reduction="mean")),
    (losses.KLDiv(reduction="none"), kl_div_loss, dict(reduction="none")),
    (losses.BCEWithLogits(pos_weight=[1.0, 2.0, 3.0, 4.0], reduction="none"),
     binary_cross_entropy_with_logits, dict(pos_weight=[1.0, 2.0, 3.0, 4.0], reduction="none")),
    (losses.SmoothL1(beta=0.3, reduction="none"), smooth_l1_loss, dict(beta=0.3, reduction="none")),
])
def test_elementwise_objects_delegate_to_kernels(rng, loss_obj, kernel, options):
    pred = rng.uniform(0.05, 0.95, size=(5, 4))
    target = rng.uniform(0, 1, size=(5, 4))
    loss, grad = loss_obj(pred, target)
    expected_loss, expected_grad = kernel(pred, target, **options)
    assert type(loss) is type(expected_loss)
    np.testing.assert_array_equal(loss, expected_loss)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("make, error, message", [
    (lambda: losses.CrossEntropy(label_smoothing=2.0), ConfigError,
     r"CrossEntropy expects label_smoothing as a number in \[0, 1\]. Received: label_smoothing=2.0"),
    (lambda: losses.CrossEntropy(weight=[[1.0, 2.0]]), ConfigError,
     r"CrossEntropy expects weight as finite numbers, one per class. Received: weight with shape \(1, 2\)"),
    (lambda: losses.CrossEntropy(ignore_index="pad"), ConfigError,
     r"CrossEntropy expects ignore_index as an int. Received: ignore_index='pad'"),
    (lambda: losses.CrossEntropy(reduction="batchmean"), ConfigError,
     r"CrossEntropy expects reduction as one of \['mean', 'sum', 'none'\]. "
     r"Received: reduction='batchmean'"),
    (lambda: losses.NLL(weight=[1.0, np.inf]), ConfigError, r"NLL expects weight as finite numbers"),
    (lambda: losses.MSE(reduction="batchmean"), ConfigError, r"MSE expects reduction as one of"),
    (lambda: losses.BCE(weight=["a"]), ValueError, "could not convert"),
    (lambda: losses.SmoothL1(beta=-0.5), ConfigError,
     r"SmoothL1 expects beta as a finite number >= 0. Received: beta=-0.5"),
    (lambda: losses.Huber(delta=0.0), ConfigError,
     r"Huber expects delta as a finite number > 0. Received: delta=0.0"),
    (lambda: losses.KLDiv(log_target="yes"), ConfigError,
     r"KLDiv expects log_target as a bool \(True or False\). Received: log_target='yes'"),
    (lambda: losses.KLDiv(reduction=None), ConfigError,
     r"KLDiv expects reduction as one of \['batchmean', 'mean', 'sum', 'none'\]. "
     r"Received: reduction=None"),
])
def test_constructor_errors_name_the_loss(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_call_time_errors_name_the_kernel():
    with pytest.raises(ConfigError, match=r"softmax_cross_entropy expects weight as 4 finite numbers"):
        losses.CrossEntropy(weight=[1.0, 2.0])(np.zeros((2, 4)), [0, 1])
    with pytest.raises(ConfigError, match=r"binary_cross_entropy expects probs in \[0, 1\]"):
        losses.BCE()(np.array([[2.0]]), np.array([1]))


def test_nll_after_log_softmax_trains_like_cross_entropy(rng):
    """Sequential(..., LogSoftmax) + NLL takes the same steps as logits + CrossEntropy."""
    x, y = rng.standard_normal((12, 5)).astype(np.float32), rng.integers(0, 3, 12)
    runs = {}
    for loss, head in (("nll", [L.LogSoftmax()]), ("cross_entropy", [])):
        lamina.seed(3)
        model = lamina.Sequential([L.Linear(5, 3)] + head)
        model.compile(loss=loss, optimizer=lamina.optim.SGD(0.5))
        runs[loss] = [model.train_step(x, y)[0] for _ in range(5)]
    np.testing.assert_allclose(runs["nll"], runs["cross_entropy"], rtol=1e-5)
    assert runs["nll"][-1] < runs["nll"][0]


@pytest.mark.parametrize("loss", [
    losses.BCEWithLogits(pos_weight=[2.0]), losses.CrossEntropy(weight=[1.0, 3.0], label_smoothing=0.1),
    losses.Huber(delta=0.5), losses.KLDiv(reduction="sum"),
])
def test_compiled_loss_survives_save_and_load(tmp_path, loss):
    model = lamina.Sequential([L.Linear(3, 2)])
    model.compile(loss=loss, optimizer="sgd")
    path = str(tmp_path / "model.lamina")
    model.save(path)
    loaded = lamina.load_model(path)
    assert type(loaded.loss) is type(loss) and loaded.loss.get_config() == loss.get_config()


def test_mse_delegates(rng):
    pred, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    assert losses.MSE()(pred, target)[0] == mse_loss(pred, target)[0]


def test_cross_entropy_on_probabilities_matches_logits(batch):
    logits, y = batch
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    from_logits, dlogits = losses.CrossEntropy()(logits, y)
    from_probs, dprobs = losses.CrossEntropy(from_logits=False)(probs, y)
    assert from_probs == pytest.approx(from_logits, rel=1e-12)
    # chain dprobs through the softmax Jacobian: dz = p * (dp - sum(dp * p))
    chained = probs * (dprobs - np.sum(dprobs * probs, axis=1, keepdims=True))
    np.testing.assert_allclose(chained, dlogits, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("loss_obj, name", [
    (losses.CrossEntropy(), "cross_entropy"), (losses.Hinge(), "hinge"), (losses.MSE(), "mse"),
    (losses.CrossEntropy(False, weight=[1, 2, 3], label_smoothing=0.1, ignore_index=0,
                         reduction="sum"), "cross_entropy"),
    (losses.NLL(weight=np.array([0.5, 2.0]), ignore_index=3), "nll"),
    (losses.BCE(weight=[[1.0], [2.0]], reduction="sum"), "binary_cross_entropy"),
    (losses.BCEWithLogits(pos_weight=[2.0, 3.0]), "binary_cross_entropy_with_logits"),
    (losses.L1(), "l1"), (losses.SmoothL1(beta=0.5), "smooth_l1"), (losses.Huber(delta=2), "huber"),
    (losses.KLDiv(log_target=True, reduction="sum"), "kl_div"),
    (losses.Hinge(reduction="none"), "hinge"), (losses.MSE(reduction="none"), "mse"),
])
def test_names_and_config_round_trip(loss_obj, name):
    assert loss_obj.name == name
    config = json.loads(json.dumps(loss_obj.get_config()))
    assert config == loss_obj.get_config()
    rebuilt = type(loss_obj)(**config)
    assert rebuilt.get_config() == config and repr(rebuilt) == repr(loss_obj)


def test_configs_are_the_constructor_arguments():
    assert losses.CrossEntropy(from_logits=False).get_config() == {
        "from_logits": False, "weight": None, "label_smoothing": 0.0, "ignore_index": -100,
        "reduction": "mean"}
    assert losses.Hinge().get_config() == {"reduction": "mean"}
    assert losses.Hinge(**{}).reduction == "mean"  # a config saved before Hinge had one
    assert losses.NLL(weight=[1, 2]).get_config()["weight"] == [1.0, 2.0]
    assert losses.KLDiv().get_config() == {"log_target": False, "reduction": "batchmean"}
    assert losses.Huber().get_config() == {"delta": 1.0, "reduction": "mean"}


def test_from_logits_must_be_bool():
    with pytest.raises(ConfigError, match="CrossEntropy.*Received: from_logits='yes'"):
        losses.CrossEntropy(from_logits="yes")


@pytest.mark.parametrize("identifier, cls", [
    ("cross_entropy", losses.CrossEntropy), ("categorical_crossentropy", losses.CrossEntropy),
    ("sparse_categorical_crossentropy", losses.CrossEntropy),
    ("softmax_cross_entropy", losses.CrossEntropy), ("Cross_Entropy", losses.CrossEntropy),
    ("hinge", losses.Hinge), ("mse", losses.MSE), ("mean_squared_error", losses.MSE),
    (losses.MSE, losses.MSE), ("nll", losses.NLL), ("nll_loss", losses.NLL),
    ("binary_cross_entropy", losses.BCE), ("binary_crossentropy", losses.BCE), ("BCE", losses.BCE),
    ("binary_cross_entropy_with_logits", losses.BCEWithLogits),
    ("bce_with_logits", losses.BCEWithLogits), ("l1", losses.L1), ("mae", losses.L1),
    ("mean_absolute_error", losses.L1), ("smooth_l1", losses.SmoothL1), ("huber", losses.Huber),
    ("kl_div", losses.KLDiv), ("kl_divergence", losses.KLDiv), ("kld", losses.KLDiv),
    (losses.KLDiv, losses.KLDiv),
])
def test_get_by_name(identifier, cls):
    loss_obj = losses.get(identifier)
    assert type(loss_obj) is cls
    assert getattr(loss_obj, "from_logits", True) is True


def test_get_passes_instances_and_callables_through():
    instance = losses.CrossEntropy(from_logits=False)
    assert losses.get(instance) is instance
    assert losses.get(mse_loss) is mse_loss


@pytest.mark.parametrize("identifier", ["crossentropy", "", None, 3, losses.Loss, int])
def test_get_unknown(identifier):
    with pytest.raises(ConfigError, match=r"Unknown loss.*'cross_entropy'.*'mse'.*Received: "):
        losses.get(identifier)


@pytest.mark.parametrize("loss, y, error, message", [
    (losses.CrossEntropy(), np.array([0, 4]), "LabelError",
     r"CrossEntropy expects class ids in \[0, 4\) \(or ignore_index=-100\) for the model's outputs "
     r"with 4 columns .*Received: y\[1\]=4"),
    (losses.CrossEntropy(ignore_index=7), np.array([7, 3]), None, None),
    (losses.NLL(), np.full((2, 4), 0.25), "LabelError", r"NLL expects label rows to be one-hot"),
    (losses.Hinge(), np.array([-1, 0]), "LabelError", r"Hinge expects class ids in \[0, 4\)"),
    (losses.BCE(), np.array([[0.5] * 4, [1.5] * 4]), "LabelError",
     r"BCE expects targets in \[0, 1\] .*Received: target\[1, 0\]=1.5"),
    (losses.MSE(), np.zeros((2, 3)), "LabelError",
     r"MSE expects a target of the same shape as the model's outputs \(2, 4\)"),
    (losses.KLDiv(), np.array([[0.5, 0.5, 0.0, -0.1]] * 2), "LabelError",
     r"KLDiv expects target probabilities >= 0"),
    (losses.KLDiv(log_target=True), np.full((2, 4), -1.0), None, None),
    (losses.L1(), np.zeros((2, 4)), None, None),
])
def test_check_targets_checks_every_label_against_the_output_shape(loss, y, error, message):
    from lamina import errors

    if error is None:
        loss.check_targets(y, (2, 4))
    else:
        with pytest.raises(getattr(errors, error), match=message):
            loss.check_targets(y, (2, 4))


def test_check_targets_of_a_class_loss_needs_two_dimensional_outputs():
    from lamina.errors import ShapeError

    with pytest.raises(ShapeError, match=r"NLL expects the model to output class scores \(N, C\) "
                                         r"or \(N, C, d1, ...\) with labels \(N, d1, ...\). "
                                         r"Received: output shape \(2, 4, 3\)"):
        losses.NLL().check_targets(np.zeros(2, int), (2, 4, 3))
