import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers as L
from lamina import regularizers as R
from lamina.errors import ConfigError
from lamina.gradcheck import numerical_gradient
from lamina.layers.container import deserialize, serialize


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.2), R.L1L2(0.1, 0.05)])
def test_penalty_gradient_matches_numerical(reg):
    w = np.random.default_rng(0).standard_normal((4, 3)) + 0.05  # no exact zeros
    numeric = numerical_gradient(lambda: reg(w), w)
    np.testing.assert_allclose(reg.gradient(w), numeric, rtol=1e-6, atol=1e-8)


def test_values_and_float32():
    w = np.array([[1.0, -2.0], [0.0, 3.0]], dtype=np.float32)
    assert R.L1(0.5)(w) == pytest.approx(3.0) and R.L2(0.5)(w) == pytest.approx(7.0)
    assert R.L1L2(0.5, 0.5)(w) == pytest.approx(10.0)
    assert R.L1L2(0.5, 0.5).gradient(w).dtype == np.float32
    np.testing.assert_array_equal(R.L1(1.0).gradient(w), [[1, -1], [0, 1]])


def test_l2_in_training_equals_torch_weight_decay():
    """L2(l2) on every parameter of a Linear == torch SGD(weight_decay=2*l2), step for step."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    layer = L.Linear(5, 3, kernel_regularizer=R.L2(0.05), bias_regularizer="l2").astype(np.float64)
    layer.bias.data = rng.standard_normal(3)
    model = lamina.Sequential([layer]).compile("cross_entropy", lamina.optim.SGD(lr=0.1))
    ref = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.data.T.copy()))
        ref.bias.copy_(torch.from_numpy(layer.bias.data.copy()))
    # bias_regularizer="l2" is L2(0.01): torch needs a parameter group per decay.
    opt = torch.optim.SGD([{"params": [ref.weight], "weight_decay": 0.1},
                           {"params": [ref.bias], "weight_decay": 0.02}], lr=0.1)
    for _ in range(3):
        loss, _ = model.train_step(x, y)
        opt.zero_grad()
        ce = torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y))
        penalty = 0.05 * (ref.weight ** 2).sum().item() + 0.01 * (ref.bias ** 2).sum().item()
        ce.backward()
        opt.step()
        assert loss == pytest.approx(ce.item() + penalty, rel=1e-12)
    np.testing.assert_allclose(layer.weight.data.T, ref.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.data, ref.bias.detach().numpy(), rtol=1e-12)


def test_evaluate_reports_the_penalty_and_configs_round_trip():
    conv = L.Conv2D(1, 2, 3, kernel_regularizer=R.L1L2(1e-3, 1e-2))
    model = lamina.Sequential([conv, L.Flatten(), L.Linear(None, 3, kernel_regularizer=R.L1(1e-2))])
    model.compile("cross_entropy", "sgd")
    x, y = np.random.default_rng(2).standard_normal((4, 1, 5, 5)), np.array([0, 1, 2, 0])
    plain = lamina.losses.get("cross_entropy")(model.predict(x), y)[0]
    assert model.regularization_loss() > 0
    assert model.evaluate(x, y)["loss"] == pytest.approx(plain + model.regularization_loss())
    spec = json.loads(json.dumps(serialize(model)))
    rebuilt = deserialize(spec)
    assert rebuilt.layers[0].kernel_regularizer == R.L1L2(1e-3, 1e-2)
    assert rebuilt.layers[2].kernel_regularizer == R.L1(1e-2)
    assert rebuilt.layers[0].weight.regularizer == R.L1L2(1e-3, 1e-2)


@pytest.mark.parametrize("bad, message", [
    ("l3", "Unknown regularizer"), (R.L2, "Unknown regularizer"),
    ({"class_name": "Dropout"}, "Unknown regularizer")])
def test_unknown_regularizers(bad, message):
    with pytest.raises(ConfigError, match=message):
        L.Linear(2, 2, kernel_regularizer=bad)


def test_negative_factor():
    with pytest.raises(ConfigError, match=r"L2 expects l2 as a finite real number >= 0. Received: l2=-1"):
        R.L2(-1)
