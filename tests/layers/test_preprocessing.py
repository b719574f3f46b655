import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, DTypeError, NotBuiltError, ShapeError
from lamina.gradcheck import check_layer


def data(shape=(40, 3, 4, 5), dtype=np.float64):
    rng = np.random.default_rng(2)
    return (rng.standard_normal(shape) * [[[[3.0]], [[0.5]], [[10.0]]]] + 100).astype(dtype)


def test_rescaling_scales_and_shifts_in_the_input_dtype():
    layer = L.Rescaling(1 / 127.5, offset=-1)
    x = np.array([[0.0, 127.5, 255.0]], np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[-1.0, 0.0, 1.0]])
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), np.full_like(x, 1 / 127.5))
    assert layer.backward(x, input_grad=False) is None
    assert layer.get_config() == {"scale": 1 / 127.5, "offset": -1.0, "name": "rescaling"}
    assert check_layer(L.Rescaling(3.0, 0.5), (2, 3, 4))
    with pytest.raises(ConfigError, match=r"Rescaling expects scale as a finite real number. "
                                          r"Received: scale='1/255'"):
        L.Rescaling("1/255")


def float64_layer(shape, **kwargs):
    layer = L.Normalization(**kwargs)
    layer.build((None,) + shape[1:])
    return layer.astype(np.float64)


def test_adapt_computes_the_exact_statistics_per_channel():
    x = data()
    layer = float64_layer(x.shape).adapt(x)
    np.testing.assert_allclose(layer.mean, x.mean(axis=(0, 2, 3)), rtol=1e-14)
    np.testing.assert_allclose(layer.variance, x.var(axis=(0, 2, 3)), rtol=1e-12)
    out = layer.forward(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-12)


def test_adapt_over_batches_equals_adapt_over_the_whole():
    x = data()
    whole = float64_layer(x.shape, axis=(1, 3)).adapt(x)
    labelled_batches = ((x[i:i + 7], np.zeros(7)) for i in range(0, 40, 7))
    batches = float64_layer(x.shape, axis=(1, 3)).adapt(labelled_batches)
    assert whole.mean.shape == (3, 5)
    np.testing.assert_allclose(batches.mean, whole.mean, rtol=1e-14)
    np.testing.assert_allclose(batches.variance, whole.variance, rtol=1e-12)


def test_float32_data_is_adapted_in_float64():
    x = data(dtype=np.float32) + np.float32(1e4)  # a float32 sum of squares would lose digits
    layer = L.Normalization(axis=None).adapt(x)
    assert layer.mean.shape == () and layer.mean.dtype == np.float32
    np.testing.assert_allclose(layer.variance, x.astype(np.float64).var(), rtol=1e-6)
    assert layer.forward(x).dtype == np.float32


def test_given_statistics_broadcast_and_invert_undoes():
    layer = L.Normalization(axis=-1, mean=[1.0, 2.0], variance=4.0)
    x = np.array([[3.0, 6.0], [1.0, 0.0]])
    assert layer.astype(np.float64).buffers() == {}  # none until built
    np.testing.assert_allclose(layer.forward(x), [[1.0, 2.0], [0.0, -1.0]])
    inverse = L.Normalization(axis=-1, mean=[1.0, 2.0], variance=4.0, invert=True)
    np.testing.assert_allclose(inverse.forward(layer.forward(x)), x)
    assert layer.get_config() == {"axis": -1, "mean": [1.0, 2.0], "variance": 4.0,
                                  "invert": False, "name": "normalization"}


@pytest.mark.parametrize("invert", [False, True])
def test_gradient(invert):
    assert check_layer(L.Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 1.0],
                                       invert=invert), (2, 3, 4, 2))


def test_adapted_statistics_are_saved_with_the_model(tmp_path):
    x = data(dtype=np.float32)
    model = lamina.Sequential([L.Normalization(), L.Flatten(), L.Linear(None, 2)])
    model.layers[0].adapt(x)
    model.build((None, 3, 4, 5))
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert loaded.get_config() == model.get_config()
    assert loaded.layers[0].get_config()["mean"] is None  # adapted: only in the weights
    np.testing.assert_array_equal(loaded.layers[0].mean, model.layers[0].mean)
    np.testing.assert_array_equal(loaded.layers[0].variance, model.layers[0].variance)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert set(model.state_dict()) >= {"0.mean", "0.variance"}


def test_a_model_with_normalization_trains():
    x = data(dtype=np.float32)
    y = (x[:, 2].mean(axis=(1, 2)) > 100).astype(int)
    lamina.seed(0)
    model = lamina.Sequential([L.Normalization(), L.Flatten(), L.Linear(None, 2), L.Softmax()])
    model.layers[0].adapt(x)
    model.compile(loss="cross_entropy", optimizer="adam")
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_statistics_are_needed_before_forward():
    with pytest.raises(NotBuiltError, match=r"Normalization 'normalization' has no statistics "
                                            r"yet: call adapt\(data\) first"):
        L.Normalization().forward(data())


@pytest.mark.parametrize("make, error, message", [
    (lambda: L.Normalization(mean=1.0), ConfigError, r"expects both mean and variance, or neither"),
    (lambda: L.Normalization(axis="channels"), ConfigError,
     r"Normalization expects axis as an int, a tuple of ints or None. Received: axis='channels'"),
    (lambda: L.Normalization(mean=0.0, variance=-1.0), ConfigError,
     r"expects variance as a number or a list of numbers >= 0. Received: variance=-1.0"),
    (lambda: L.Normalization(mean=[0.0, np.nan], variance=1.0), ConfigError, r"Received: mean="),
    (lambda: L.Normalization(invert=1), ConfigError, r"expects invert as a bool"),
    (lambda: L.Normalization(mean=0.0, variance=1.0).adapt(data()), ConfigError,
     r"was given mean and variance; adapt would replace them"),
    (lambda: L.Normalization().adapt([]), ConfigError, r"adapt expects data with at least one "
                                                       r"batch"),
    (lambda: L.Normalization().adapt(np.zeros((3, 2), int)), DTypeError,
     r"Normalization 'normalization'.adapt expects data as a floating NumPy array"),
    (lambda: L.Normalization(axis=0).adapt(data()), ShapeError, r"axes other than the batch"),
    (lambda: L.Normalization(mean=[1.0, 2.0], variance=1.0).forward(data()), ShapeError,
     r"expects mean and variance broadcasting to the sizes \(3,\) of axes \(1,\)"),
    (lambda: L.Normalization().adapt(data()).forward(np.zeros((2, 4, 4, 5))), ShapeError,
     r"expects inputs with 4 dimensions and sizes \(3,\) on axes \(1,\). "
     r"Received: x.shape=\(2, 4, 4, 5\)"),
])
def test_bad_arguments_and_inputs_name_the_layer(make, error, message):
    with pytest.raises(error, match=message):
        make()
