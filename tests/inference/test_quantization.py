"""lamina.inference.quantize: int8 weights and calibrated uint8 inputs, ONNX QDQ semantics,
checked against PyTorch's fake quantisation; accuracy kept on the embedded digits."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.examples.digits import build_model, load_data
from lamina.inference import Fused, Quantized, quantize
from lamina.inference.quantization import (activation_range, dequantize_linear, quantize_linear,
                                       weight_scales)
from lamina.io import load_model

torch = pytest.importorskip("torch")


def test_quantize_dequantize_equals_torch_fake_quantize_per_tensor():
    x = np.random.default_rng(0).normal(size=(4, 3, 5, 5)).astype(np.float32) * 3
    x[0, 0, 0, :3] = [100.0, -100.0, 0.5]  # saturates both ends
    scale, zero_point = activation_range(-2.5, 4.0)
    ours = dequantize_linear(quantize_linear(x, np.float32(scale), np.float32(zero_point),
                                             (0, 255)), np.float32(scale), np.float32(zero_point))
    theirs = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale, int(zero_point),
                                                   0, 255)
    np.testing.assert_array_equal(ours, theirs.numpy())


def test_weights_equal_torch_fake_quantize_per_channel():
    w = np.random.default_rng(1).normal(size=(6, 4, 3, 3)).astype(np.float32)
    w[2] = 0.0  # a dead channel: scale 1, weights 0
    scales = weight_scales(w, axis=0)
    assert scales[2] == 1.0 and np.allclose(scales[0], np.abs(w[0]).max() / 127)
    s = scales.astype(np.float32).reshape(-1, 1, 1, 1)
    ours = dequantize_linear(quantize_linear(w, s, 0, (-127, 127)), s, 0)
    theirs = torch.fake_quantize_per_channel_affine(
        torch.from_numpy(w), torch.from_numpy(scales.astype(np.float32)),
        torch.zeros(6, dtype=torch.int32), 0, -127, 127)
    np.testing.assert_array_equal(ours, theirs.numpy())


def test_activation_range_holds_zero_exactly():
    for low, high in [(-1.0, 3.0), (0.5, 2.0), (-4.0, -1.0), (0.0, 0.0)]:
        scale, zero_point = activation_range(low, high)
        assert 0 <= zero_point <= 255 and zero_point == int(zero_point) and scale > 0
        q = quantize_linear(np.float64(0.0), scale, zero_point, (0, 255))
        assert dequantize_linear(q, scale, zero_point) == 0.0  # 0 (ReLU, padding) exact


@pytest.fixture(scope="module")
def digits():
    lamina.seed(0)
    (x_train, y_train), (x_test, y_test) = load_data()
    model = build_model()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=2e-3))
    model.fit(x_train, y_train, epochs=6, batch_size=32, verbose=0)
    return model, x_train, (x_test, y_test)


@pytest.mark.parametrize("per_channel", [True, False])
def test_digits_keep_their_accuracy_in_int8(digits, per_channel):
    model, x_train, (x_test, y_test) = digits
    before = {name: value.copy() for name, value in model.state_dict().items()}
    q8 = quantize(model, x_train[:256], per_channel=per_channel)
    float_accuracy = np.mean(model.predict(x_test).argmax(1) == y_test)
    int8_accuracy = np.mean(q8.predict(x_test).argmax(1) == y_test)
    assert float_accuracy > 0.9 and int8_accuracy >= float_accuracy - 0.005
    assert [type(layer).__name__ for layer in q8.layers] == \
        ["Quantized", "Quantized", "MaxPool2D", "Flatten", "Quantized", "Quantized"]
    units = [q8.layers[i] for i in (0, 1, 4, 5)]
    assert [unit.quantizes_output for unit in units] == [True, True, True, False]  # logits: float
    for unit, following in zip(units, units[1:]):  # an output quantised as the next input
        assert (unit.output_scale, unit.output_zero_point) == \
            (following.input_scale, following.input_zero_point)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_every_weight_is_an_int8_multiple_of_its_channel_scale(digits):
    model, x_train, _ = digits
    q8 = quantize(model, x_train[:64])
    quantized = [layer for layer in q8.layers if isinstance(layer, Quantized)]
    assert len(quantized) == 4
    for layer in quantized:
        inner = layer.layer.layer if isinstance(layer.layer, Fused) else layer.layer
        axis = 1 if isinstance(inner, L.Linear) else 0
        shape = [1] * inner.weight.data.ndim
        shape[axis] = -1
        scale = layer.weight_scale.astype(np.float32).reshape(shape)
        q = inner.weight.data / scale
        np.testing.assert_allclose(q, np.round(q), atol=1e-4)
        assert np.abs(np.round(q)).max(axis=tuple(i for i in range(q.ndim) if i != axis)).min() \
            == 127  # each channel's peak maps to 127
        bias_scale = (layer.input_scale * layer.weight_scale).astype(np.float32)
        q_bias = inner.bias.data / bias_scale  # int32 multiples of input scale x weight scale
        np.testing.assert_allclose(q_bias, np.round(q_bias), atol=1e-3)


def test_quantized_layer_is_layer_of_fake_quantized_input():
    lamina.seed(1)
    conv = L.Conv2D(2, 3, 3, padding=1)
    x = np.random.default_rng(2).normal(size=(2, 2, 6, 6)).astype(np.float32)
    layer = Quantized.of(conv, (-1.0, 1.5))
    layer.eval()
    s, z = np.float32(layer.input_scale), np.float32(layer.input_zero_point)
    x_hat = (np.clip(np.round(x / s) + z, 0, 255) - z) * s
    np.testing.assert_array_equal(layer.forward(x), conv.forward(x_hat))
    layer.train()  # straight-through: gradients pass where the input did not saturate
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    conv.forward(x_hat)
    inside = (x > -1.0 - s / 2) & (x < 1.5 + s / 2)
    np.testing.assert_allclose(dx, conv.backward(np.ones_like(out)) * inside, atol=1e-6)


def test_graph_model_and_file_round_trip(tmp_path):
    lamina.seed(2)
    image = lamina.Input((1, 8, 8), name="image")
    h = L.ReLU()(L.BatchNorm2D(4)(L.Conv2D(1, 4, 3, padding=1)(image)))
    out = L.Dense(3, name="digit")(L.Flatten()(h))
    model = lamina.Model(image, out)
    x = np.random.default_rng(3).uniform(size=(16, 1, 8, 8)).astype(np.float32)
    q8 = quantize(model, x)
    assert sum(isinstance(layer, Quantized) for layer in q8.layers) == 2
    assert not any(layer.quantizes_output for layer in q8.layers if isinstance(layer, Quantized))
    q8.save(tmp_path / "q8.lamina")
    again = load_model(tmp_path / "q8.lamina")
    np.testing.assert_array_equal(again.predict(x), q8.predict(x))
    np.testing.assert_allclose(q8.predict(x), model.predict(x), atol=0.05)


def test_bad_input_is_named():
    model = lamina.Sequential([L.Conv2D(1, 2, 3), L.Flatten(), L.Linear(None, 2)])
    model.build((None, 1, 5, 5))
    with pytest.raises(ShapeError, match="calibration_x"):
        quantize(model, np.zeros((4, 3, 5, 5), np.float32))
    with pytest.raises(ConfigError, match="per_channel"):
        quantize(model, np.zeros((4, 1, 5, 5), np.float32), per_channel="yes")
    with pytest.raises(ConfigError, match="Sequential or Model"):
        quantize(L.Dense(3), np.zeros((2, 3)))
    plain = lamina.Sequential([L.Flatten(), L.ReLU()])
    plain.build((None, 4))
    with pytest.raises(ConfigError, match="no Conv2D"):
        quantize(plain, np.zeros((2, 4), np.float32))


def test_lenet5_on_mnist_size_digits_keeps_its_accuracy_within_half_a_point():
    """LeNet-5 on 28x28 images (the embedded digits, each pixel a 3x3 block, padded by 2)."""
    from lamina.models import LeNet5

    def mnist_size(x):
        blocks = np.repeat(np.repeat(x, 3, axis=2), 3, axis=3)
        return np.pad(blocks, ((0, 0), (0, 0), (2, 2), (2, 2)))

    lamina.seed(0)
    (x_train, y_train), (x_test, y_test) = load_data()
    x_train, x_test = mnist_size(x_train), mnist_size(x_test)
    model = LeNet5()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=2e-3))
    model.fit(x_train, y_train, epochs=4, batch_size=32, verbose=0)
    q8 = quantize(model, x_train[:512])
    float_accuracy = np.mean(model.predict(x_test).argmax(1) == y_test)
    int8_accuracy = np.mean(q8.predict(x_test).argmax(1) == y_test)
    assert float_accuracy > 0.9 and abs(int8_accuracy - float_accuracy) <= 0.005
