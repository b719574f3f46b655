"""Shape-only builds (lamina.shape_only): every layer describes the parameters and buffers a
real build gives it (names, shapes, dtypes) without allocating or drawing anything."""

import tracemalloc

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina import models
from lamina.backend import get_rng
from lamina.shape_only import ArraySpec, shape_only, shape_only_active
from tests.layers.test_every_layer_saves import CASES

ZOO = {
    "LeNet5": lambda: models.LeNet5(),
    "resnet_small": lambda: models.resnet_small(in_channels=1, widths=(4, 8, 8)),
    "MobileNetV2": lambda: models.MobileNetV2(in_channels=1, width_mult=0.25, last_channels=16),
    "ShuffleNetV2": lambda: models.ShuffleNetV2(in_channels=1),
}


def state_of(model):
    """name -> (shape, dtype, whether it is an ArraySpec) of every parameter and buffer."""
    state = {name: p.data for name, p in model.named_parameters()} | model.buffers()
    return {name: (tuple(a.shape), np.dtype(a.dtype), isinstance(a, ArraySpec))
            for name, a in state.items()}


def built(make, input_shape):
    model = make()
    model = model if isinstance(model, lamina.Sequential) else lamina.Sequential([model])
    model.build(input_shape)
    return model


@pytest.mark.parametrize("name", sorted(CASES) + sorted(ZOO))
def test_a_shape_only_build_describes_the_real_one(name):
    make, shape = CASES[name] if name in CASES else (ZOO[name], (2, 1, 28, 28))
    real = built(make, (None,) + shape[1:])
    with shape_only():
        skeleton = built(make, (None,) + shape[1:])
    ours = state_of(skeleton)
    assert {k: v[:2] for k, v in ours.items()} == {k: v[:2] for k, v in state_of(real).items()}
    assert all(is_spec for _, _, is_spec in ours.values())   # nothing of lamina's is allocated
    assert skeleton.count_params() == real.count_params()


@pytest.mark.parametrize("make", [
    lambda: L.Linear(10**6, 10**6), lambda: L.Conv2D(20000, 20000, 3),
    lambda: L.ConvTranspose2D(20000, 20000, 5), lambda: L.SeparableConv2D(10**5, 10**5, 3),
    lambda: L.DepthwiseConv2D(10**6, 7, depth_multiplier=1000), lambda: L.BatchNorm1D(10**12),
    lambda: L.BatchNorm2D(10**12), lambda: L.LayerNorm((10**6, 10**6)),
    lambda: L.GroupNorm(1, 10**12), lambda: L.InstanceNorm2D(10**12, affine=True,
                                                              track_running_stats=True),
], ids=["Linear", "Conv2D", "ConvTranspose2D", "SeparableConv2D", "DepthwiseConv2D",
        "BatchNorm1D", "BatchNorm2D", "LayerNorm", "GroupNorm", "InstanceNorm2D"])
def test_huge_layers_cost_nothing_and_draw_nothing(make):
    rng_state = get_rng().bit_generator.state
    tracemalloc.start()
    try:
        with shape_only():
            layer = make()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**16 and get_rng().bit_generator.state == rng_state
    assert sum(p.data.nbytes for p in layer.parameters()) >= 4 * 10**9   # what it would take
    assert layer.count_params() == sum(p.size for p in layer.parameters())


def test_the_mode_ends_with_its_block_even_on_an_error():
    with pytest.raises(ValueError), shape_only():
        assert shape_only_active()
        raise ValueError
    assert not shape_only_active()
    assert isinstance(L.Linear(2, 3).weight.data, np.ndarray)


def test_array_spec_reads_like_an_array():
    spec = ArraySpec((2, 3), np.float64)
    assert (spec.shape, spec.dtype, spec.ndim, spec.size, spec.nbytes) == ((2, 3), np.float64,
                                                                           2, 6, 48)
    assert repr(spec) == "ArraySpec(shape=(2, 3), dtype=float64)"


@pytest.mark.parametrize("make", [
    lambda: L.LSTM(4, 4, num_layers=10**12),
    lambda: lamina.Sequential([L.Linear(2, 2) for _ in range(50)]),
], ids=["lstm-10**12-layers", "50-linears"])
def test_max_arrays_stops_a_build_at_the_first_array_past_the_limit(make):
    from lamina.shape_only import ShapeOnlyLimitError

    with shape_only(max_arrays=20), pytest.raises(ShapeOnlyLimitError, match="more than 20"):
        make()  # both are built when made: their sizes are all given


def test_max_arrays_admits_a_build_within_the_limit():
    with shape_only(max_arrays=8):
        layer = L.LSTM(4, 4, num_layers=2)  # built when made: 8 arrays
    assert len(layer.parameters()) == 8
