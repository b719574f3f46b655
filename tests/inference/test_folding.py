"""lamina.inference.fold: batch norm folded, activations fused, dropout gone; outputs equal
eval mode; the original model untouched."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.inference import Fused, fold
from lamina.io import load_model


def trained(model, x, classes, dtype=np.float64):
    """`model` compiled, fitted a few steps (so the batch norms hold real statistics)."""
    model.compile(loss="cross_entropy", optimizer="adam")
    y = np.arange(len(x)) % classes
    model.fit(x.astype(dtype), y, epochs=3, batch_size=4, verbose=0)
    return model


def images(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def kinds(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.fixture(autouse=True)
def seeded():
    lamina.seed(0)


def cnn(dtype=np.float64):
    model = lamina.Sequential([
        L.Conv2D(3, 8, 3, padding=1, bias=False), L.BatchNorm2D(8), L.ReLU(), L.MaxPool2D(2),
        L.DepthwiseConv2D(8, 3, stride=2, padding=1, depth_multiplier=2), L.BatchNorm2D(16), L.ReLU6(),
        L.Flatten(), L.Dropout(0.3), L.Dense(12), L.BatchNorm1D(12), L.GELU(), L.Dense(5)])
    model.build((None, 3, 11, 13))
    return trained(model.astype(dtype), images((10, 3, 11, 13), dtype), 5, dtype)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_sequential_folds_and_equals_eval_mode(dtype, tol):
    model = cnn(dtype)
    x = images((7, 3, 11, 13), dtype, seed=1)
    before = {name: value.copy() for name, value in model.state_dict().items()}
    folded = fold(model)
    assert kinds(folded) == ["Fused", "MaxPool2D", "Fused", "Flatten", "Fused", "Dense"]
    assert not any(isinstance(layer, (L.BatchNorm2D, L.BatchNorm1D, L.Dropout))
                   for layer in folded.layers)
    np.testing.assert_allclose(folded.predict(x), model.predict(x), rtol=tol, atol=tol)
    assert folded.predict(x).dtype == dtype
    for name, value in model.state_dict().items():  # the original is untouched
        np.testing.assert_array_equal(value, before[name])
    assert kinds(model)[1] == "BatchNorm2D"


def test_each_layer_kind_folds_exactly():
    x4, x3 = images((6, 4, 9, 8)), images((6, 4, 10))
    cases = [
        (lamina.Sequential([L.Conv2D(4, 6, 3, stride=2, dilation=2, groups=2),
                            L.BatchNorm2D(6)]), x4),
        (lamina.Sequential([L.ConvTranspose2D(4, 6, 3, stride=2, groups=2),
                            L.BatchNorm2D(6)]), x4),
        (lamina.Sequential([L.Conv1D(4, 5, 3, padding=1), L.BatchNorm1D(5)]), x3),
        (lamina.Sequential([L.Flatten(), L.Linear(None, 7, bias=False), L.BatchNorm1D(7)]), x3),
    ]
    for model, x in cases:
        model.build((None,) + x.shape[1:])
        model = model.astype(np.float64)
        rng = np.random.default_rng(3)
        norm = model.layers[-1]
        norm.set_buffer("running_mean", rng.normal(size=norm.num_features))
        norm.set_buffer("running_var", rng.uniform(0.5, 2, size=norm.num_features))
        norm.gamma.data, norm.beta.data = rng.normal(size=(2, norm.num_features))
        model.eval()
        folded = fold(model)
        assert not isinstance(folded.layers[-1], L.BatchNorm1D | L.BatchNorm2D), kinds(folded)
        np.testing.assert_allclose(folded.predict(x), model.predict(x), rtol=1e-12, atol=1e-12)


def test_residual_and_nested_containers_fold_inside():
    block = lamina.Sequential([L.Conv2D(4, 4, 3, padding=1), L.BatchNorm2D(4), L.ReLU(),
                               L.Conv2D(4, 4, 3, padding=1), L.BatchNorm2D(4)])
    model = lamina.Sequential([L.Residual(block), L.ReLU(), L.GlobalAvgPool2D(), L.Dense(3)])
    model.build((None, 4, 6, 6))
    model = trained(model.astype(np.float64), images((8, 4, 6, 6)), 3)
    folded = fold(model)
    assert kinds(folded.layers[0].block) == ["Fused", "Conv2D"]
    x = images((5, 4, 6, 6), seed=2)
    np.testing.assert_allclose(folded.predict(x), model.predict(x), rtol=1e-12, atol=1e-12)


def test_graph_model_folds_where_a_layer_feeds_only_its_batch_norm():
    image = lamina.Input((3, 8, 8), name="image")
    h = L.Conv2D(3, 6, 3, padding=1, name="c1")(image)
    h = L.BatchNorm2D(6, name="bn1")(h)
    h = L.ReLU(name="r1")(h)
    shared = L.Conv2D(6, 6, 3, padding=1, name="c2")(h)  # read twice: nothing folds into it
    a = L.BatchNorm2D(6, name="bn2")(shared)
    b = L.Dropout(0.2, name="drop")(shared)
    merged = L.Add(name="add")(a, b)
    out = L.Dense(4, name="digit")(L.Flatten(name="flat")(merged))
    side = L.BatchNorm2D(6, name="side")(L.Conv2D(6, 6, 1, name="c3")(h))  # an output: kept
    model = lamina.Model(image, [out, side])
    model.compile(loss={"digit": "cross_entropy"}, optimizer="adam")
    x = images((8, 3, 8, 8))
    model = model.astype(np.float64)
    model.fit(x, [np.arange(8) % 4, None], epochs=2, batch_size=4, verbose=0)
    folded = fold(model)
    names = [layer.name for layer in folded.layers]
    assert "c1_r1" in names and "bn1" not in names and "drop" not in names
    assert "bn2" in names and "side" in names  # c2 is read twice; side is an output
    assert folded.output_names == model.output_names
    for got, want in zip(folded.predict(x), model.predict(x)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_folded_model_saves_and_loads(tmp_path):
    model = cnn()
    folded = fold(model)
    folded.save(tmp_path / "folded.lamina")
    again = load_model(tmp_path / "folded.lamina")
    x = images((4, 3, 11, 13), seed=5)
    np.testing.assert_array_equal(again.predict(x), folded.predict(x))
    assert isinstance(again.layers[0], Fused)


def test_fused_trains_as_its_parts():
    """In training mode Fused runs both children with their caches: backward is exact."""
    from lamina.gradcheck import check_layer

    assert check_layer(Fused(L.Conv2D(2, 3, 3, padding=1), L.GELU()), (2, 2, 5, 5))


def test_bad_input_is_named():
    with pytest.raises(ConfigError, match="Sequential or Model"):
        fold(L.Conv2D(3, 4, 3))
    with pytest.raises(ConfigError, match="not built"):
        fold(lamina.Sequential([L.Dense(3)]))
    with pytest.raises(ConfigError, match="element-wise activation"):
        Fused(L.Dense(3), L.Softmax())
