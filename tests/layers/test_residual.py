import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, LaminaError, ShapeError
from lamina.gradcheck import check_layer
from lamina.layers.container import deserialize, serialize
from lamina.model import Sequential


def basic_block(in_channels, out_channels, stride=1):
    """ResNet's basic block: conv-BN-ReLU-conv-BN, plus a 1x1 conv-BN shortcut when the shape
    changes (identity otherwise)."""
    block = Sequential([
        L.Conv2D(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        L.BatchNorm2D(out_channels), L.ReLU(),
        L.Conv2D(out_channels, out_channels, 3, padding=1, bias=False),
        L.BatchNorm2D(out_channels)])
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = Sequential([L.Conv2D(in_channels, out_channels, 1, stride=stride, bias=False),
                               L.BatchNorm2D(out_channels)])
    return L.Residual(block, shortcut)


def small_resnet(classes=10):
    return Sequential([
        L.Conv2D(1, 8, 3, padding=1, bias=False), L.BatchNorm2D(8), L.ReLU(),
        basic_block(8, 8), L.ReLU(),
        basic_block(8, 16, stride=2), L.ReLU(),
        L.AvgPool2D(4), L.Flatten(), L.Linear(None, classes)])


# -- gradients ----------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_projection_block_gradcheck(training, rng):
    """conv+BN block, 1x1 stride-2 conv+BN shortcut, odd sizes."""
    layer = basic_block(3, 4, stride=2)
    for name, value in layer.buffers().items():  # non-trivial running stats for eval mode
        layer.set_buffer(name, (rng.uniform(0.5, 1.5, value.shape) if name.endswith("var")
                                else rng.standard_normal(value.shape)).astype(np.float32))
    layer.train(training)
    check_layer(layer, (2, 3, 7, 5))


def test_identity_block_gradcheck():
    check_layer(basic_block(3, 3), (2, 3, 5, 4))


def test_identity_fan_out_is_exact(rng):
    """y = 2x through an empty block; dx = dout + dout, and dout is not written into."""
    layer = L.Residual(Sequential([]))
    x, dout = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(layer.forward(x), 2 * x)
    kept = dout.copy()
    np.testing.assert_array_equal(layer.backward(dout), 2 * dout)
    np.testing.assert_array_equal(dout, kept)


def test_gradients_accumulate_across_calls(rng):
    layer = basic_block(2, 3).astype(np.float64)
    x, dout = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((2, 3, 4, 4))
    layer.forward(x)
    layer.backward(dout)
    once = [p.grad.copy() for p in layer.parameters()]
    layer.forward(x)
    layer.backward(dout)
    for first, twice in zip(once, layer.parameters()):
        np.testing.assert_allclose(twice.grad, 2 * first, rtol=1e-12)


# -- names, config, building ----------------------------------------------------------------------
def test_state_names_follow_block_and_shortcut():
    layer = basic_block(2, 4, stride=2)
    assert [name for name, _ in layer.named_parameters()] == [
        "block.0.weight", "block.1.gamma", "block.1.beta", "block.3.weight", "block.4.gamma",
        "block.4.beta", "shortcut.0.weight", "shortcut.1.gamma", "shortcut.1.beta"]
    assert list(layer.buffers()) == [
        "block.1.running_mean", "block.1.running_var", "block.4.running_mean",
        "block.4.running_var", "shortcut.1.running_mean", "shortcut.1.running_var"]
    layer.set_buffer("shortcut.1.running_var", np.full(4, 3.0, np.float32))
    assert layer.shortcut.layers[1].running_var.tolist() == [3.0] * 4
    model = Sequential([L.Conv2D(1, 2, 1), layer])
    assert [n for n, _ in model.named_parameters()][2:4] == ["1.block.0.weight", "1.block.1.gamma"]
    assert "1.shortcut.1.running_mean" in model.buffers()


def test_config_round_trips_through_json():
    model = small_resnet()
    model.build((None, 1, 8, 8))
    spec = json.loads(json.dumps(serialize(model)))
    assert spec["config"]["layers"][3]["config"]["shortcut"] is None
    assert set(spec["config"]["layers"][5]["config"]) == {"block", "shortcut", "name"}
    rebuilt = deserialize(spec)
    assert serialize(rebuilt) == serialize(model)
    assert rebuilt.layers[3].shortcut is None and isinstance(rebuilt.layers[5].shortcut, Sequential)
    assert [n for n, _ in rebuilt.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert rebuilt.output_shape((5, 1, 8, 8)) == (5, 10)


def test_lazy_children_build_from_the_input_shape():
    layer = L.Residual(Sequential([L.Conv2D(None, 6, 3, padding=1), L.BatchNorm2D(None)]),
                       L.Conv2D(None, 6, 1))
    model = Sequential([layer, L.Flatten(), L.Linear(None, 2)])
    assert not layer.built
    assert model.build((None, 3, 4, 4)) == (None, 2)
    assert layer.built and layer.block.layers[1].num_features == 6
    assert layer.shortcut.in_channels == 3


def test_train_eval_recursion_and_astype():
    layer = basic_block(2, 3, stride=2).eval()
    assert not layer.block.layers[1].training and not layer.shortcut.layers[1].training
    layer.train()
    assert layer.shortcut.layers[1].training
    layer.astype(np.float64)
    assert all(p.data.dtype == np.float64 for p in layer.parameters())
    assert all(b.dtype == np.float64 for b in layer.buffers().values())


def test_float32_stays_float32(rng):
    layer = basic_block(2, 3, stride=2)
    out = layer.forward(rng.standard_normal((2, 2, 5, 5)).astype(np.float32))
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32 and out.shape == (2, 3, 3, 3)
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_summary_of_a_resnet(capsys):
    model = small_resnet()
    model.build((None, 1, 8, 8))
    model.summary((None, 1, 8, 8))
    rows = [line for line in capsys.readouterr().out.splitlines() if "(Residual)" in line]
    assert len(rows) == 2 and "(None, 8, 8, 8)" in rows[0] and "(None, 16, 4, 4)" in rows[1]
    assert all(row.split()[-1].isdigit() for row in rows)  # built: a count, not "?"


def test_small_resnet_trains_on_digits():
    lamina.seed(0)
    (x, y), _ = lamina.datasets.load_digits()
    x, y = x[:192, None] / np.float32(16), y[:192]
    model = small_resnet()
    model.compile("cross_entropy", lamina.optim.Adam(lr=1e-2), ["accuracy"])
    losses = model.fit(x, y, epochs=3, batch_size=32, verbose=0).history["loss"]
    assert losses[2] < losses[1] < losses[0] and losses[-1] < 0.65 * losses[0], losses


# -- errors ---------------------------------------------------------------------------------------
def test_shape_mismatch_names_both_shapes():
    layer = L.Residual(L.Conv2D(3, 4, 3, padding=1), name="res")
    message = (r"Residual 'res' adds the block output to the input \(identity shortcut\), so "
               r"their shapes must be equal\. Received: block output \(None, 4, 5, 5\), shortcut "
               r"output \(None, 3, 5, 5\)\. Give a shortcut")
    with pytest.raises(ShapeError, match=message):
        layer.output_shape((None, 3, 5, 5))
    with pytest.raises(ShapeError, match=r"Residual 'res' \(layer 0\) adds .*\(its input: the model "
                                         r"input shape is \(None, 3, 5, 5\)\)"):
        Sequential([layer]).build((None, 3, 5, 5))
    with pytest.raises(ShapeError, match=r"output \(2, 4, 5, 5\), shortcut output \(2, 3, 5, 5\)"):
        layer.forward(np.ones((2, 3, 5, 5), np.float32))
    strided = L.Residual(L.Conv2D(3, 4, 3, stride=2, padding=1), L.Conv2D(3, 4, 1), name="down")
    message = (r"'down' adds the block output to the shortcut output.*"
               r"block output \(None, 4, 3, 3\), shortcut output \(None, 4, 5, 5\)$")
    with pytest.raises(ShapeError, match=message):
        strided.output_shape((None, 3, 5, 5))


def test_constructor_and_backward_errors():
    with pytest.raises(ConfigError, match=r"block as a lamina Layer\. Received: block=None"):
        L.Residual(None)
    with pytest.raises(ConfigError, match=r"shortcut as a lamina Layer or None \(identity\)\. "
                                          r"Received: shortcut='identity'"):
        L.Residual(L.ReLU(), "identity")
    layer = L.Residual(L.ReLU(), name="res")
    with pytest.raises(LaminaError, match="Residual 'res': backward was called before forward"):
        layer.backward(np.ones((2, 3), np.float32))
    layer.forward(np.ones((2, 3), np.float32))
    with pytest.raises(ShapeError, match=r"Residual 'res' expects dout of the forward output's "
                                         r"shape \(2, 3\)\. Received: dout.shape=\(3, 2\)"):
        layer.backward(np.ones((3, 2), np.float32))


def test_model_file_round_trip(tmp_path, rng):
    """Residual, Multiply (SE gate) and Concat inside a model survive save / load_model."""
    gate = Sequential([L.AvgPool2D(8), L.Conv2D(8, 4, 1), L.ReLU(), L.Conv2D(4, 8, 1), L.Sigmoid()])
    model = Sequential([
        L.Concat([L.Conv2D(1, 4, 1),
                  Sequential([L.MaxPool2D(3, 1, 1), L.Conv2D(1, 4, 3, padding=1)])]),
        L.Residual(Sequential([L.Conv2D(8, 8, 3, padding=1), L.BatchNorm2D(8),
                               L.Multiply([Sequential([]), gate])])),
        L.Flatten(), L.Linear(None, 3)])
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    model.build(x.shape)
    model.forward(x)  # moves the BN running statistics off their initial values
    model.eval()
    model.save(tmp_path / "net.lamina")
    from lamina.io import load_model

    loaded = load_model(tmp_path / "net.lamina")
    assert serialize(loaded) == serialize(model)
    assert list(loaded.state_dict()) == list(model.state_dict())
    assert "1.block.1.running_mean" in loaded.state_dict()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
