"""Spatial layers: gradients, shapes, calling conventions, configs, save/load and errors."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, LaminaError, ShapeError
from lamina.gradcheck import check_kernel, check_layer, distinct_values
from lamina.io import load_model
from lamina.layers.container import deserialize, serialize

CASES = [  # (layer, input shape)
    (lambda: L.GlobalAvgPool2D(), (2, 3, 5, 4)),
    (lambda: L.GlobalAvgPool2D(keepdims=True), (1, 2, 3, 3)),
    (lambda: L.GlobalMaxPool2D(), (2, 3, 5, 4)),
    (lambda: L.GlobalMaxPool2D(keepdims=True), (1, 2, 1, 3)),
    (lambda: L.AdaptiveAvgPool2D(3), (2, 2, 7, 7)),
    (lambda: L.AdaptiveAvgPool2D((4, None)), (1, 2, 5, 3)),
    (lambda: L.Upsample2D(2), (2, 2, 3, 4)),
    (lambda: L.Upsample2D(size=(5, 7), mode="bilinear"), (1, 2, 3, 4)),
    (lambda: L.Upsample2D(scale_factor=(1, 3), mode="bilinear", align_corners=True), (1, 2, 3, 2)),
    (lambda: L.ZeroPad2D(1), (2, 2, 3, 4)),
    (lambda: L.ZeroPad2D((0, 2, 1, -1)), (1, 3, 4, 3)),
    (lambda: L.ChannelShuffle(2), (2, 4, 3, 3)),
    (lambda: L.ChannelShuffle(3), (2, 6, 5)),
]
IDS = [f"{i}" for i in range(len(CASES))]


@pytest.mark.parametrize("make, shape", CASES, ids=IDS)
def test_check_layer(make, shape):
    """Input gradient, output_shape() and the get_config() round trip."""
    assert check_layer(make(), shape)


@pytest.mark.parametrize("make, shape", CASES, ids=IDS)
def test_float32_preserved_and_serialize_round_trip(make, shape, rng):
    layer = make()
    x = rng.standard_normal(shape).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx.dtype == np.float32 and dx.shape == x.shape
    assert out.shape == layer.output_shape(shape)
    rebuilt = deserialize(serialize(layer))
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()
    np.testing.assert_array_equal(rebuilt.forward(x), out)


def test_global_pool_shapes_and_lazy_batch():
    assert L.GlobalAvgPool2D().output_shape((None, 8, 5, 5)) == (None, 8)
    assert L.GlobalMaxPool2D(keepdims=True).output_shape((None, 8, 5, 5)) == (None, 8, 1, 1)
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    np.testing.assert_array_equal(L.GlobalMaxPool2D().forward(x), [[3.0, 7.0]])


def test_adaptive_output_shape_and_config():
    layer = L.AdaptiveAvgPool2D((None, 2))
    assert layer.output_shape((None, 3, 9, 7)) == (None, 3, 9, 2)
    assert layer.get_config() == {"output_size": [None, 2], "name": "adaptive_avg_pool2d"}
    assert L.AdaptiveAvgPool2D(**layer.get_config()).output_size == (None, 2)


def test_upsample_defaults_and_config():
    layer = L.Upsample2D(2)
    assert layer.get_config() == {"scale_factor": [2, 2], "size": None, "mode": "nearest",
                                  "align_corners": None, "name": "upsample2d"}
    assert L.Upsample2D(size=4, mode="bilinear").align_corners is False  # torch's default
    assert L.Upsample2D(size=(5, 3)).output_shape((None, 2, 7, 7)) == (None, 2, 5, 3)


# -- MaxUnpool2D ------------------------------------------------------------------------------
UNPOOL_CASES = [  # (kernel, stride, padding, x shape)
    (2, None, 0, (2, 3, 6, 6)),
    ((3, 2), (3, 2), (1, 1), (1, 2, 9, 8)),
    (2, 3, 1, (2, 2, 8, 9)),
]


@pytest.mark.parametrize("kernel, stride, padding, shape", UNPOOL_CASES, ids=str)
def test_max_unpool_gradcheck_and_calling_conventions(kernel, stride, padding, shape):
    x = distinct_values(shape, rng=0)
    pool = L.MaxPool2D(kernel, stride, padding, return_index=True)
    unpool = L.MaxUnpool2D(kernel, stride, padding)
    y, indices = pool(x)
    up = unpool(y, indices, output_size=x.shape)
    np.testing.assert_array_equal(unpool((y, indices), output_size=x.shape[2:]), up)
    np.testing.assert_array_equal(up[up != 0], x[up != 0])
    assert check_kernel(lambda y: (unpool(y, indices, x.shape), None),
                        lambda dout, _: unpool.backward(dout), [y])
    # The pool's backward takes the unpool's dx: the round trip routes dout back to the maxima.
    dout = np.random.default_rng(1).standard_normal(up.shape)
    np.testing.assert_allclose(pool.backward(unpool.backward(dout)), dout * (up != 0))


def test_max_unpool_in_sequential_is_a_clear_error():
    """Sequential passes on only the pooled values, so the unpool cannot get its indices."""
    model = lamina.Sequential([L.MaxPool2D(2, return_index=True), L.MaxUnpool2D(2)])
    assert model.output_shape((None, 2, 4, 4)) == (None, 2, 4, 4)
    with pytest.raises(LaminaError, match=r"MaxUnpool2D 'max_unpool2d' \(layer 1\) needs the "
                                          r"indices of MaxPool2D\(return_index=True\)"):
        model.forward(np.ones((2, 2, 4, 4)))


def test_max_unpool_errors_name_the_layer():
    unpool = L.MaxUnpool2D(2, name="up")
    x = np.ones((1, 2, 2, 2))
    with pytest.raises(LaminaError, match=r"MaxUnpool2D 'up' needs the indices.*Received: ndarray"):
        unpool(x)
    with pytest.raises(ShapeError, match=r"MaxUnpool2D 'up' expects indices of the input's shape "
                                         r"\(1, 2, 2, 2\). Received: indices.shape=\(1, 2, 2\)"):
        unpool(x, np.zeros((1, 2, 2), np.int64))
    with pytest.raises(ShapeError, match=r"MaxUnpool2D 'up' expects input with 4 dimensions"):
        unpool(np.ones((2, 2, 2)), np.zeros((2, 2, 2), np.int64))
    assert unpool.get_config() == {"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0],
                                   "name": "up"}


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: L.GlobalAvgPool2D(keepdims="yes"), r"GlobalAvgPool2D expects keepdims .*Received: keepdims='yes'"),
    (lambda: L.AdaptiveAvgPool2D(0), r"AdaptiveAvgPool2D expects output_size .*Received: output_size=0"),
    (lambda: L.Upsample2D(), r"Upsample2D expects exactly one of scale_factor and size"),
    (lambda: L.Upsample2D(2, mode="area"), r"Upsample2D expects mode .*Received: mode='area'"),
    (lambda: L.Upsample2D(2, align_corners=False), r"Upsample2D: align_corners applies"),
    (lambda: L.ZeroPad2D((1, 1)), r"ZeroPad2D expects padding .*Received: padding=\(1, 1\)"),
    (lambda: L.ChannelShuffle(0), r"ChannelShuffle expects groups as an int >= 1. Received: groups=0"),
    (lambda: L.MaxUnpool2D(0), r"MaxUnpool2D expects kernel_size"),
])
def test_constructor_errors(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize("layer, x, message", [
    (L.GlobalAvgPool2D(name="g"), np.ones((2, 3)),
     r"GlobalAvgPool2D 'g' expects input with 4 dimensions \(N, C, H, W\). Received: x.shape=\(2, 3\)"),
    (L.Upsample2D(2, name="u"), np.ones((2, 3, 4)), r"Upsample2D 'u' expects input with 4 dim"),
    (L.ChannelShuffle(4, name="s"), np.ones((2, 6, 3, 3)),
     r"ChannelShuffle 's' expects input \(N, C, \*\) with C divisible by groups=4. "
     r"Received: x.shape=\(2, 6, 3, 3\)"),
    (L.ZeroPad2D(1, name="z"), np.ones((2, 3, 4, 4), np.int64), r"ZeroPad2D 'z' expects x as a floating"),
])
def test_forward_errors_name_the_layer(layer, x, message):
    with pytest.raises(LaminaError, match=message):
        layer.forward(x)


def test_model_with_every_new_layer_saves_and_loads(tmp_path, rng):
    """The new layers inside a model file: architecture and weights come back, outputs equal."""
    lamina.seed(0)
    model = lamina.Sequential([
        L.ZeroPad2D((1, 0, 0, 1)), L.SeparableConv2D(None, 6, 3, padding=1, depth_multiplier=2),
        L.ChannelShuffle(2), L.DepthwiseConv2D(None, 3, padding=1), L.Upsample2D(2),
        L.AdaptiveAvgPool2D(3), L.Reshape((6, 9)), L.Reshape((6, 3, 3)), L.GlobalMaxPool2D(),
    ])
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    expected = model.forward(x)
    model.save(tmp_path / "spatial.lamina")
    loaded = load_model(tmp_path / "spatial.lamina")
    assert serialize(loaded) == serialize(model)
    np.testing.assert_array_equal(loaded.forward(x), expected)
