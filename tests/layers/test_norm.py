import json

import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.gradcheck import check_layer
from lamina.layers.container import deserialize, serialize


@pytest.mark.parametrize("layer, shape", [(L.BatchNorm1D(5), (6, 5)), (L.BatchNorm2D(3), (4, 3, 3, 5))])
@pytest.mark.parametrize("training", [True, False])
def test_check_layer(layer, shape, training, rng):
    layer.gamma.data = rng.uniform(0.5, 1.5, layer.gamma.shape).astype(np.float32)
    layer.beta.data = rng.standard_normal(layer.beta.shape).astype(np.float32)
    layer.running_mean = rng.standard_normal(layer.running_mean.shape).astype(np.float32)
    layer.train(training)
    check_layer(layer, shape)


def test_running_statistics_follow_pytorch_convention(rng):
    layer = L.BatchNorm1D(3).astype(np.float64)
    x = rng.standard_normal((8, 3)) * 2 + 1
    layer.forward(x)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(0))
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(0, ddof=1))
    layer.eval()
    out = layer.forward(x)
    np.testing.assert_allclose(out, (x - layer.running_mean) / np.sqrt(layer.running_var + 1e-5))


@pytest.mark.parametrize("layer, shape", [(L.BatchNorm1D(3), (4, 3)), (L.BatchNorm2D(3), (4, 3, 2, 2))])
def test_eval_mode_reads_the_running_statistics_and_leaves_them(layer, shape, rng):
    """An eval forward in another dtype computes in it, and the float32 buffers stay the
    very arrays they were (inference writes nothing on the layer)."""
    layer.eval()
    mean, var = layer.running_mean, layer.running_var
    out = layer.forward(rng.standard_normal(shape))
    assert out.dtype == np.float64
    assert layer.running_mean is mean and layer.running_var is var
    assert mean.dtype == var.dtype == np.float32


def test_order_names_buffers_and_lazy():
    layer = L.BatchNorm2D(None)
    layer.forward(np.ones((2, 4, 3, 3), np.float32) + np.arange(2).reshape(2, 1, 1, 1))
    assert layer.num_features == 4
    assert [p.name for p in layer.parameters()] == ["gamma", "beta"]
    assert set(layer.buffers()) == {"running_mean", "running_var"}


def test_errors():
    with pytest.raises(ShapeError, match=r"BatchNorm2D 'bn' expects 3 channels.*Received: x.shape=\(2, 4, 5, 5\)"):
        L.BatchNorm2D(3, name="bn").forward(np.ones((2, 4, 5, 5), np.float32))
    with pytest.raises(ShapeError, match="more than one value per channel"):
        L.BatchNorm1D(3).forward(np.ones((1, 3), np.float32))


def test_batchnorm1d_takes_channels_and_length(rng):
    layer = L.BatchNorm1D(3)
    check_layer(layer, (4, 3, 5))
    assert layer.output_shape((None, 3, 5)) == (None, 3, 5)
    with pytest.raises(ShapeError, match=r"\(N, D\) or \(N, C, L\)"):
        L.BatchNorm1D(3).forward(np.ones((2, 3, 4, 4), np.float32))


# -- per-sample normalisation ------------------------------------------------------------------
def randomise_affine(layer, rng):
    """Scales away from 1 and shifts away from 0, so a gradient that ignores them shows."""
    if layer.gamma is not None:
        shape = layer.gamma.shape
        layer.gamma.data = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    if layer.beta is not None:
        layer.beta.data = rng.standard_normal(layer.beta.shape)
    return layer


SAMPLE_NORM_CASES = {  # (factory, input shape)
    "ln-1": (lambda: L.LayerNorm(5), (4, 5)),
    "ln-2-no-bias": (lambda: L.LayerNorm((3, 5), bias=False), (2, 3, 5)),
    "ln-3-no-affine": (lambda: L.LayerNorm([2, 3, 4], elementwise_affine=False), (3, 2, 3, 4)),
    "ln-batch1": (lambda: L.LayerNorm((4,), eps=1e-3), (1, 3, 4)),
    "gn": (lambda: L.GroupNorm(3, 6), (2, 6, 3, 4)),
    "gn-odd-C-G1": (lambda: L.GroupNorm(1, 5), (3, 5, 2, 3)),
    "gn-G=C-no-affine": (lambda: L.GroupNorm(5, 5, affine=False), (2, 5, 4)),
    "gn-lazy": (lambda: L.GroupNorm(2, None), (2, 4, 3, 3)),
    "in": (lambda: L.InstanceNorm2D(3), (2, 3, 4, 5)),
    "in-affine-batch1": (lambda: L.InstanceNorm2D(5, affine=True), (1, 5, 3, 2)),
    "in-tracking": (lambda: L.InstanceNorm2D(3, affine=True, track_running_stats=True),
                    (2, 3, 3, 4)),
    "in-lazy": (lambda: L.InstanceNorm2D(None, affine=True), (2, 4, 2, 3)),
}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", SAMPLE_NORM_CASES.values(), ids=list(SAMPLE_NORM_CASES))
def test_sample_norm_check_layer(case, training, rng):
    factory, shape = case
    layer = factory()
    if not layer.built:
        layer.build(shape)
    randomise_affine(layer, rng)
    if getattr(layer, "track_running_stats", False):
        layer.running_mean = rng.standard_normal(shape[1])
        layer.running_var = rng.uniform(0.5, 2.0, shape[1])
    layer.train(training)
    check_layer(layer, shape)


@pytest.mark.parametrize("case", SAMPLE_NORM_CASES.values(), ids=list(SAMPLE_NORM_CASES))
def test_sample_norm_serialize_round_trip(case):
    layer = case[0]()
    spec = json.loads(json.dumps(serialize(layer)))
    rebuilt = deserialize(spec)
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in layer.parameters()]


def test_sample_norm_configs_are_the_constructor_arguments():
    assert L.LayerNorm((3, 4), name="ln").get_config() == {
        "normalized_shape": [3, 4], "eps": 1e-5, "elementwise_affine": True, "bias": True,
        "name": "ln"}
    assert L.GroupNorm(2, 6, eps=1e-3, affine=False).get_config() == {
        "num_groups": 2, "num_channels": 6, "eps": 1e-3, "affine": False, "name": "group_norm"}
    assert L.InstanceNorm2D(4).get_config() == {
        "num_features": 4, "eps": 1e-5, "momentum": 0.1, "affine": False,
        "track_running_stats": False, "name": "instance_norm2d"}


def test_sample_norm_parameters_follow_torch_defaults():
    layer = L.LayerNorm((2, 3))
    assert [p.name for p in layer.parameters()] == ["gamma", "beta"]
    np.testing.assert_array_equal(layer.gamma.data, np.ones((2, 3)))
    np.testing.assert_array_equal(layer.beta.data, np.zeros((2, 3)))
    assert layer.gamma.dtype == np.float32
    assert [p.name for p in L.LayerNorm(3, bias=False).parameters()] == ["gamma"]
    assert L.LayerNorm(3, elementwise_affine=False).parameters() == []
    assert [p.shape for p in L.GroupNorm(2, 4).parameters()] == [(4,), (4,)]
    assert L.InstanceNorm2D(4).parameters() == [] and L.InstanceNorm2D(4).buffers() == {}
    tracking = L.InstanceNorm2D(4, affine=True, track_running_stats=True)
    assert [p.name for p in tracking.parameters()] == ["gamma", "beta"]
    np.testing.assert_array_equal(tracking.buffers()["running_var"], np.ones(4))


def test_lazy_sizes_are_inferred():
    group = L.GroupNorm(3, None)
    instance = L.InstanceNorm2D(None, affine=True, track_running_stats=True)
    assert not group.built and not instance.built
    x = np.random.default_rng(0).standard_normal((2, 6, 3, 3)).astype(np.float32)
    assert group.forward(x).shape == x.shape and instance.forward(x).shape == x.shape
    assert group.num_channels == 6 and group.gamma.shape == (6,)
    assert instance.num_features == 6 and instance.running_mean.shape == (6,)
    with pytest.raises(ConfigError, match=r"GroupNorm 'gn' expects num_channels divisible by "
                                          r"num_groups. Received: num_channels=5, num_groups=3"):
        L.GroupNorm(3, None, name="gn").forward(np.ones((2, 5, 2, 2), np.float32))


def test_batch_of_one_trains(rng):
    """Unlike batch norm, per-sample norms need no second example."""
    x = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    for layer in (L.LayerNorm((3, 4, 4)), L.GroupNorm(3, 3), L.InstanceNorm2D(3)):
        out = layer.forward(x)
        np.testing.assert_allclose(out.mean(), 0.0, atol=1e-5)
        assert layer.backward(np.ones_like(out)).shape == x.shape


def test_instance_norm_running_statistics_train_and_eval(rng):
    layer = L.InstanceNorm2D(3, momentum=0.2, track_running_stats=True).astype(np.float64)
    x = rng.standard_normal((4, 3, 2, 5)) * 2 + 1
    out = layer.forward(x)
    planes = x.reshape(4, 3, -1)
    np.testing.assert_allclose(layer.running_mean, 0.2 * planes.mean(-1).mean(0), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, 0.8 + 0.2 * planes.var(-1, ddof=1).mean(0),
                               rtol=1e-12)
    np.testing.assert_allclose(out.reshape(4, 3, -1),
                               (planes - planes.mean(-1, keepdims=True))
                               / np.sqrt(planes.var(-1, keepdims=True) + 1e-5), rtol=1e-10)
    layer.eval()
    before = layer.running_mean.copy()
    out = layer.forward(x)
    expected = (x - before.reshape(-1, 1, 1)) / np.sqrt(layer.running_var + 1e-5).reshape(-1, 1, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.running_mean, before)
    # Without tracking, eval still uses each plane's own statistics; 1x1 planes are then refused.
    plain = L.InstanceNorm2D(3).eval().astype(np.float64)
    np.testing.assert_allclose(plain.forward(x), L.InstanceNorm2D(3).forward(x), rtol=1e-12)
    single = np.ones((2, 3, 1, 1))
    assert layer.forward(single).shape == single.shape  # running statistics: fine
    with pytest.raises(ShapeError, match=r"InstanceNorm2D 'instance_norm2d' needs more than one "
                                         r"spatial value.*Received: x.shape=\(2, 3, 1, 1\)"):
        plain.forward(single)


def test_sample_norm_astype_and_dtype(rng):
    layer = L.InstanceNorm2D(3, affine=True, track_running_stats=True).astype(np.float64)
    assert layer.gamma.dtype == np.float64 and layer.running_var.dtype == np.float64
    layer = L.GroupNorm(3, 3)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == layer.gamma.grad.dtype == np.float32


def test_sample_norm_output_shape():
    assert L.LayerNorm((3, 4)).output_shape((None, 2, 3, 4)) == (None, 2, 3, 4)
    assert L.GroupNorm(2, 4).output_shape((None, 4, 5)) == (None, 4, 5)
    assert L.InstanceNorm2D(4).output_shape((None, 4, 5, 6)) == (None, 4, 5, 6)


@pytest.mark.parametrize("factory, x, error, fragment", [
    (lambda: L.LayerNorm((3, 4), name="ln"), np.ones((2, 4, 3)), ShapeError,
     r"LayerNorm 'ln' expects input \(N, \.\.\., 3, 4\) ending in normalized_shape \(3, 4\)\. "
     r"Received: x.shape=\(2, 4, 3\)"),
    (lambda: L.LayerNorm((3, 4), name="ln"), np.ones((3, 4)), ShapeError,
     r"LayerNorm 'ln' expects input.*Received: x.shape=\(3, 4\)"),
    (lambda: L.LayerNorm(4, name="ln"), np.ones((2, 4), np.int64), DTypeError,
     "LayerNorm 'ln' expects x as a floating"),
    (lambda: L.GroupNorm(2, 4, name="gn"), np.ones((2, 6, 3)), ShapeError,
     r"GroupNorm 'gn' expects 4 channels on axis 1. Received: x.shape=\(2, 6, 3\)"),
    (lambda: L.GroupNorm(2, None, name="gn"), np.ones(4), ShapeError,
     r"GroupNorm 'gn' expects input \(N, C, \*spatial\). Received: x.shape=\(4,\)"),
    (lambda: L.GroupNorm(2, 4, name="gn"), np.ones((0, 4)), ShapeError, "empty batch"),
    (lambda: L.InstanceNorm2D(3, name="inorm"), np.ones((2, 3, 5)), ShapeError,
     r"InstanceNorm2D 'inorm' expects input with 4 dimensions \(N, C, H, W\). "
     r"Received: x.shape=\(2, 3, 5\)"),
    (lambda: L.InstanceNorm2D(3, name="inorm"), np.ones((2, 4, 5, 5)), ShapeError,
     r"InstanceNorm2D 'inorm' expects 3 channels on axis 1. Received: x.shape=\(2, 4, 5, 5\)"),
])
def test_sample_norm_input_errors(factory, x, error, fragment):
    with pytest.raises(error, match=fragment):
        factory().forward(x)


@pytest.mark.parametrize("factory, fragment", [
    (lambda: L.GroupNorm(4, 6), r"GroupNorm 'group_norm' expects num_channels divisible by "
                                r"num_groups. Received: num_channels=6, num_groups=4"),
    (lambda: L.GroupNorm(0, 6), "GroupNorm expects num_groups as an int >= 1. "
                                "Received: num_groups=0"),
    (lambda: L.GroupNorm(2, 4, eps=0), "GroupNorm expects eps as a finite real number > 0. "
                                       "Received: eps=0"),
    (lambda: L.GroupNorm(2, 4, affine=1), "GroupNorm expects affine as a bool \\(True or False\\). "
                                          "Received: affine=1"),
    (lambda: L.LayerNorm((3, 0)), r"LayerNorm expects normalized_shape as .*Received: "
                                  r"normalized_shape=\(3, 0\)"),
    (lambda: L.LayerNorm(None), "LayerNorm expects normalized_shape.*"
                                "Received: normalized_shape=None"),
    (lambda: L.LayerNorm(3, bias="yes"), r"LayerNorm expects bias as a bool \(True or False\)"),
    (lambda: L.InstanceNorm2D(3, momentum=1.5), r"InstanceNorm2D expects momentum as a number in "
                                                r"\[0, 1\].*Received: momentum=1.5"),
    (lambda: L.InstanceNorm2D(0), "InstanceNorm2D expects num_features as an int >= 1 or None"),
    (lambda: L.BatchNorm1D(3, momentum=True), r"BatchNorm1D expects momentum as a number in "
                                              r"\[0, 1\] .*Received: momentum=True"),
    (lambda: L.BatchNorm2D(3, momentum="0.1"), r"BatchNorm2D expects momentum .*"
                                               r"Received: momentum='0.1'"),
    (lambda: L.BatchNorm2D(3, eps=0), "BatchNorm2D expects eps as a finite real number > 0"),
    (lambda: L.BatchNorm1D(3, eps=float("inf")), "BatchNorm1D expects eps as a finite real"),
    (lambda: L.InstanceNorm2D(3, momentum=False), "InstanceNorm2D expects momentum .*"
                                                  "Received: momentum=False"),
])
def test_sample_norm_constructor_errors(factory, fragment):
    with pytest.raises(ConfigError, match=fragment):
        factory()


def test_sample_norms_survive_save_and_load(tmp_path, rng):
    """Architecture, lazily inferred sizes, parameters and running statistics round-trip."""
    import lamina

    model = lamina.Sequential([
        L.GroupNorm(2, None),
        L.InstanceNorm2D(None, affine=True, track_running_stats=True, momentum=0.5),
        L.LayerNorm((4, 3, 5), bias=False),
    ])
    x = rng.standard_normal((2, 4, 3, 5)).astype(np.float32)
    model.forward(x)
    for p in model.parameters():
        p.data = rng.standard_normal(p.shape).astype(np.float32)
    model.eval()
    model.save(tmp_path / "norms.lamina")
    loaded = lamina.load_model(tmp_path / "norms.lamina").eval()
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], array, err_msg=name)
    assert "1.running_var" in loaded.state_dict()
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
