import json

import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, LaminaError, ShapeError
from lamina.gradcheck import check_layer, distinct_values
from lamina.layers.container import deserialize, serialize
from lamina.model import Sequential


def identity():
    return Sequential([])


def inception(channels=3):
    """Branches with 2, 4 and 1 output channels, one through a padded max-pool."""
    return L.Concat([
        L.Conv2D(channels, 2, 1),
        Sequential([L.Conv2D(channels, 3, 1), L.ReLU(), L.Conv2D(3, 4, 3, padding=1)]),
        Sequential([L.MaxPool2D(3, stride=1, padding=1), L.Conv2D(channels, 1, 1)]),
    ])


def squeeze_excite(channels, hw, reduced=2):
    """x * sigmoid(conv(relu(conv(mean over H, W)))): an (N, C, 1, 1) gate on (N, C, H, W)."""
    gate = Sequential([L.AvgPool2D(hw), L.Conv2D(channels, reduced, 1), L.ReLU(),
                       L.Conv2D(reduced, channels, 1), L.Sigmoid()])
    return L.Multiply([identity(), gate])


# -- gradients ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make, shape", [
    (inception, (2, 3, 5, 6)),
    (lambda: L.Concat([  # reduction block: two stride-2 paths meet at the same size
        L.Conv2D(2, 3, 3, stride=2, padding=1),
        L.MaxPool2D(3, stride=2, padding=1),
        L.Conv2D(2, 2, (3, 2), stride=2, padding=1, dilation=(1, 2), bias=False)]), (3, 2, 7, 9)),
    (lambda: L.Concat([L.Linear(6, 2), L.Linear(6, 3), identity()], axis=-1), (4, 6)),
], ids=["inception", "stride2-reduction", "features-axis-1"])
def test_concat_gradcheck(make, shape):
    check_layer(make(), shape)


@pytest.mark.parametrize("training", [True, False])
def test_squeeze_excitation_multiply_gradcheck(training):
    layer = squeeze_excite(4, (5, 3))
    assert layer.output_shape((None, 4, 5, 3)) == (None, 4, 5, 3)
    assert layer.branches[1].output_shape((2, 4, 5, 3)) == (2, 4, 1, 1)
    layer.train(training)
    check_layer(layer, (3, 4, 5, 3))


def test_add_with_broadcast_gradcheck():
    """Conv features + a per-channel (N, C, 1, 1) term + a conv-BN path."""
    layer = L.Add([L.Conv2D(3, 4, 3, padding=1),
                   Sequential([L.AvgPool2D((4, 5)), L.Conv2D(3, 4, 1)]),
                   Sequential([L.Conv2D(3, 4, 1), L.BatchNorm2D(4)])])
    check_layer(layer, (2, 3, 4, 5))


def test_multiply_three_branches_gradcheck():
    layer = L.Multiply([L.Tanh(), identity(), L.Conv2D(2, 2, 3, padding=2, dilation=2, groups=2)])
    check_layer(layer, (2, 2, 5, 4))


# -- fan-out accumulation is exact ---------------------------------------------------------------
def test_fan_out_sums_branch_gradients_exactly_and_leaves_dout_alone(rng):
    x, dout = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 9, 4, 5))
    concat = L.Concat([identity(), identity(), identity()])
    np.testing.assert_array_equal(concat.forward(x), np.concatenate([x, x, x], axis=1))
    kept = dout.copy()
    dx = concat.backward(dout)
    np.testing.assert_array_equal(dx, dout[:, :3] + dout[:, 3:6] + dout[:, 6:])
    np.testing.assert_array_equal(dout, kept)

    add, dout = L.Add([identity(), identity()]), rng.standard_normal(x.shape)
    np.testing.assert_array_equal(add.forward(x), 2 * x)
    kept = dout.copy()
    assert np.array_equal(add.backward(dout), 2 * dout) and np.array_equal(dout, kept)


def test_multiply_gradient_is_exact_where_a_factor_is_zero(rng):
    """y = x * relu(x): dividing y by a factor would give 0/0 at the zeros."""
    x = rng.standard_normal((3, 4, 5))
    x[rng.random(x.shape) < 0.3] = 0.0
    dout = rng.standard_normal(x.shape)
    layer = L.Multiply([identity(), L.ReLU()])
    np.testing.assert_array_equal(layer.forward(x), x * np.maximum(x, 0))
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx, dout * np.maximum(x, 0) + dout * x * (x > 0))
    assert np.all(dx[x == 0] == 0)


def test_broadcast_gradient_is_summed_back_to_the_gate_shape(rng):
    """d/dgate of sum(dout * x * gate) is sum over H, W of dout * x, per (n, c)."""
    gate = Sequential([L.AvgPool2D((3, 4))])
    layer = L.Multiply([identity(), gate])
    x, dout = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((2, 3, 3, 4))
    y = layer.forward(x)
    mean = x.mean(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(y, x * mean, rtol=1e-12)
    dgate = np.sum(dout * x, axis=(2, 3), keepdims=True)
    expected = dout * mean + np.broadcast_to(dgate / 12, x.shape)
    np.testing.assert_allclose(layer.backward(dout), expected, rtol=1e-12)


# -- shapes, building, config, state --------------------------------------------------------------
def test_lazy_branches_build_inside_sequential():
    model = Sequential([L.Concat([L.Conv2D(None, 2, 1), L.Conv2D(None, 3, 3, padding=1)]),
                        squeeze_excite(5, 6), L.Flatten(), L.Linear(None, 4)])
    assert not model.built
    assert model.build((None, 7, 6, 6)) == (None, 4)
    assert [b.in_channels for b in model.layers[0].branches] == [7, 7]
    assert model.layers[-1].in_features == 5 * 36
    assert model.forward(np.ones((2, 7, 6, 6), np.float32)).shape == (2, 4)


def test_output_shapes():
    assert inception().output_shape((None, 3, 7, 5)) == (None, 7, 7, 5)
    assert L.Concat([identity(), identity()], axis=-1).output_shape((2, 3, 4)) == (2, 3, 8)
    assert L.Add([identity(), L.AvgPool2D((4, 5))]).output_shape((None, 3, 4, 5)) == (None, 3, 4, 5)


def test_names_config_round_trip_and_train_eval_recursion():
    model = Sequential([L.Conv2D(1, 4, 3, padding=1), squeeze_excite(4, 5), inception(4)])
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "1.1.1.weight", "1.1.1.bias", "1.1.3.weight", "1.1.3.bias",
        "2.0.weight", "2.0.bias", "2.1.0.weight", "2.1.0.bias", "2.1.2.weight", "2.1.2.bias",
        "2.2.1.weight", "2.2.1.bias"]
    spec = json.loads(json.dumps(serialize(model)))
    assert spec["config"]["layers"][2]["config"]["axis"] == 1
    rebuilt = deserialize(spec)
    assert serialize(rebuilt) == serialize(model)
    assert [n for n, _ in rebuilt.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert isinstance(rebuilt.layers[1], L.Multiply)
    assert rebuilt.layers[1].branches[0].layers == []
    model.eval()
    assert not model.layers[2].branches[1].layers[0].training
    model.train()
    assert model.layers[2].branches[1].layers[0].training


def test_buffers_are_named_by_branch_position():
    layer = L.Add([L.BatchNorm2D(3), Sequential([L.ReLU(), L.BatchNorm2D(3)])])
    assert set(layer.buffers()) == {"0.running_mean", "0.running_var", "1.1.running_mean",
                                    "1.1.running_var"}
    layer.set_buffer("1.1.running_mean", np.full(3, 2.0, np.float32))
    assert layer.branches[1].layers[1].running_mean.tolist() == [2.0, 2.0, 2.0]


def test_float32_stays_float32():
    layer = squeeze_excite(3, 4)
    x = distinct_values((2, 3, 4, 4), 0).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_summary_lists_merges(capsys):
    model = Sequential([inception(1), squeeze_excite(7, 4)])
    model.summary((None, 1, 4, 4))
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if "(None" in line]
    assert [row[:2] for row in rows] == [["concat", "(Concat)"], ["multiply", "(Multiply)"]]
    assert [" ".join(row[2:6]) for row in rows] == ["(None, 7, 4, 4)"] * 2


# -- errors ---------------------------------------------------------------------------------------
def test_constructor_errors():
    with pytest.raises(ConfigError, match=r"Add expects no branches .* or a list of at least 2 branch layers"):
        L.Add([L.ReLU()])
    with pytest.raises(ConfigError, match="Multiply expects no branches .* or a list of at least 2"):
        L.Multiply(L.ReLU())
    with pytest.raises(ConfigError, match="expects a lamina Layer. Received: str"):
        L.Concat([L.ReLU(), "relu"])
    with pytest.raises(ConfigError, match="Concat expects axis as an int. Received: axis=1.0"):
        L.Concat([L.ReLU(), L.Tanh()], axis=1.0)


def test_concat_shape_errors_name_the_layer_and_shapes():
    layer = L.Concat([L.Conv2D(3, 2, 3), L.Conv2D(3, 2, 1)], name="mix")
    message = (r"Concat 'mix' expects branch outputs equal on every axis but 1\. Received: "
               r"branch output shapes \[\(None, 2, 3, 3\), \(None, 2, 5, 5\)\]")
    with pytest.raises(ShapeError, match=message):
        layer.output_shape((None, 3, 5, 5))
    with pytest.raises(ShapeError, match=r"'mix'.*\[\(2, 2, 3, 3\), \(2, 2, 5, 5\)\]"):
        layer.forward(np.ones((2, 3, 5, 5), np.float32))
    with pytest.raises(ShapeError, match=r"Concat 'mix' \(layer 0\) expects branch outputs .*"
                                         r"\(its input: the model input shape is \(None, 3, 5, 5\)\)"):
        Sequential([layer]).build((None, 3, 5, 5))
    with pytest.raises(ShapeError, match=r"expects branch outputs with an axis 0 that is not the batch axis"):
        L.Concat([L.ReLU(), L.Tanh()], axis=0).output_shape((2, 3))
    with pytest.raises(ShapeError, match=r"expects branch outputs with an axis -3 that is not the batch axis"):
        L.Concat([L.ReLU(), L.Tanh()], axis=-3).forward(np.ones((2, 3), np.float32))


@pytest.mark.parametrize("cls", [L.Add, L.Multiply])
def test_broadcast_errors_name_the_layer_and_shapes(cls):
    layer = cls([L.Conv2D(3, 4, 1), L.Conv2D(3, 2, 1)])
    message = (rf"{cls.__name__} '{layer.name}' expects branch outputs that broadcast.*"
               r"\[\(None, 4, 5, 5\), \(None, 2, 5, 5\)\]")
    with pytest.raises(ShapeError, match=message):
        layer.output_shape((None, 3, 5, 5))
    with pytest.raises(ShapeError, match=r"of one rank.*\[\(2, 3, 3\), \(2, 9\)\]"):
        cls([L.ReLU(), L.Flatten()]).forward(np.ones((2, 3, 3), np.float32))


def test_backward_errors():
    layer = L.Add([L.ReLU(), identity()], name="sum")
    with pytest.raises(LaminaError, match="Add 'sum': backward was called before forward"):
        layer.backward(np.ones((2, 3), np.float32))
    layer.forward(np.ones((2, 3), np.float32))
    with pytest.raises(ShapeError, match=r"Add 'sum' expects dout of the forward output's shape "
                                         r"\(2, 3\)\. Received: dout.shape=\(2, 4\)"):
        layer.backward(np.ones((2, 4), np.float32))
