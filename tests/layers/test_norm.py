import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ShapeError
from lamina.gradcheck import check_layer


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
