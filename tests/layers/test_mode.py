"""Inference mode (lamina.layers.mode), and the thread-safe inference it gives predict,
evaluate and Ensemble: many threads on shared models, bit-identical to serial, nothing changed."""

import random
import sys
import threading
import weakref

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina import models
from lamina.errors import LaminaError
from lamina.functional import windows as windows_module
from lamina.functional import conv as conv_kernels
from lamina.layers.mode import inference_caches, inference_mode


def walk(layer):
    """layer and every layer inside it, depth first."""
    yield layer
    for child in getattr(layer, "layers", ()):
        yield from walk(child)


def run_threads(work, count):
    """work(0) ... work(count - 1), each in its own thread, started together and switched as
    often as the interpreter allows (so that races show); re-raises the first error."""
    start, errors = threading.Barrier(count), []

    def run(index):
        start.wait()
        try:
            work(index)
        except BaseException as error:  # re-raised in the calling thread, below
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]


def images(n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 1, 6, 6)).astype(np.float32)


# -- the mode itself ---------------------------------------------------------------------------
def test_inside_it_this_thread_alone_reads_every_layer_as_eval():
    model = lamina.Sequential([L.Dropout(0.5), L.BatchNorm1D(3)])
    model.layers[1].eval()  # a frozen batch norm: the layer's own flag is False
    seen_elsewhere = []
    with inference_mode():
        assert [layer.training for layer in walk(model)] == [False, False, False]
        other = threading.Thread(target=lambda: seen_elsewhere.extend(
            layer.training for layer in walk(model)))
        other.start()
        other.join()
        model.train()  # sets the flags; this thread still reads eval until the block ends
        assert not model.layers[0].training
    assert seen_elsewhere == [True, True, False]
    assert [layer.training for layer in walk(model)] == [True, True, True]


def test_nested_blocks_are_one_block():
    layer = L.ReLU()
    with inference_mode():
        caches = inference_caches()
        with inference_mode():
            assert inference_caches() is caches and not layer.training
        assert inference_caches() is caches and not layer.training
    assert inference_caches() is None and layer.training


def test_forwards_inside_it_keep_their_caches_in_the_thread_not_on_the_layers():
    pool = L.MaxPool2D(2, return_index=True)  # reads its own cache inside forward
    x = images()
    out, indices = pool(x)
    kept = pool.__dict__["_forward_cache"]
    dx = pool.backward(np.ones_like(out))
    with inference_mode():
        with pytest.raises(LaminaError, match="MaxPool2D 'max_pool2d': backward was called "
                                              "before forward in this inference_mode block"):
            pool.backward(np.ones_like(out))
        inferred, inferred_indices = pool(x + 1)
        assert list(inference_caches()) == [id(pool)]
        np.testing.assert_array_equal(pool.backward(np.ones_like(out)), dx)  # eval-mode cache
    assert pool.__dict__["_forward_cache"] is kept
    np.testing.assert_array_equal(inferred, out + 1)
    np.testing.assert_array_equal(inferred_indices, indices)


def test_a_thread_keeps_its_last_block_caches_until_the_next_block_replaces_them():
    layer = L.ReLU()
    with inference_mode():
        layer.forward(np.ones((2, 3)))
        first = inference_caches()[id(layer)]
    state = weakref.ref(first)
    del first
    assert state() is not None  # kept: the next call reuses its memory
    with inference_mode():
        layer.forward(np.ones((2, 3)))
        assert state() is None  # replaced as soon as this block's forward saved its own


def test_a_subclass_forward_calling_super_keeps_the_cache_until_it_returns():
    class ScaledReLU(L.ReLU):
        def forward(self, x):
            out = super().forward(x)
            assert self._cache is not None  # still there: the outer forward is running
            return 2 * out

    layer = ScaledReLU()
    with inference_mode():
        out = layer.forward(np.array([[-1.0, 3.0]]))
    np.testing.assert_array_equal(out, [[0.0, 6.0]])


# -- thread-safe inference ---------------------------------------------------------------------
def _serving_models():
    """Trained models covering every layer whose forward differs between train and eval
    (BatchNorm1D/2D, InstanceNorm2D with running statistics, Dropout, MaxPool2D), the zoo's
    residual and squeeze-and-excitation blocks, MaxPool2D(return_index=True), the conv
    family, the per-sample norms, and an Ensemble with a plain-layer member."""
    lamina.seed(0)
    x = images(32)
    y = np.random.default_rng(1).integers(0, 5, 32)
    conv_bn = lamina.Sequential([L.Conv2D(1, 4, 3, padding=1), L.BatchNorm2D(4), L.ReLU(),
                                 L.Dropout(0.5), L.Flatten(), L.Linear(None, 5)])
    resnet = models.resnet_small(in_channels=1, num_classes=5, widths=(4, 8, 8),
                                 se_reduction=2)
    mixed = lamina.Sequential([
        L.Conv2D(1, 6, 3, padding=1), L.InstanceNorm2D(6, affine=True, track_running_stats=True),
        L.MaxPool2D(2, return_index=True), L.GroupNorm(2, 6), L.SeparableConv2D(6, 8, 3, padding=1),
        L.BatchNorm2D(8), L.Dropout(0.3), L.ConvTranspose2D(8, 4, 2, stride=2), L.AvgPool2D(2),
        L.Flatten(), L.Linear(None, 16), L.BatchNorm1D(16), L.LayerNorm(16), L.GELU(),
        L.Dropout(0.2), L.Linear(16, 5), L.Softmax()])
    for model in (conv_bn, resnet, mixed):
        model.compile(loss="cross_entropy", optimizer="adam", metrics=["accuracy"])
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    conv_bn.layers[1].eval()  # frozen, as when fine-tuning: modes differ between layers
    plain = L.Concat([lamina.Sequential([L.Flatten(), L.Dropout(0.5), L.Linear(36, 3)]),
                      lamina.Sequential([L.Flatten(), L.Linear(36, 2)])])  # has no predict
    ensemble = lamina.Ensemble([conv_bn, resnet, mixed, plain])
    return x, y, [conv_bn, resnet, mixed, plain], ensemble


def _state(model):
    """Everything inference must leave alone: every layer's attributes (the same objects:
    nothing assigned, caches and modes included) and the values of weights and buffers."""
    return ([(layer, dict(vars(layer)), layer.training) for layer in walk(model)],
            {name: value.copy() for name, value in model.state_dict().items()})


def _assert_unchanged(model, state):
    layers, arrays = state
    for layer, attributes, training in layers:
        assert layer.training == training, f"{layer.describe()} changed mode"
        assert vars(layer).keys() == attributes.keys(), f"{layer.describe()} gained attributes"
        changed = [key for key, value in vars(layer).items() if value is not attributes[key]]
        assert not changed, f"{layer.describe()}: {changed} reassigned"
    now = model.state_dict()
    for name, value in arrays.items():
        assert now[name].dtype == value.dtype and np.array_equal(now[name], value), name


@pytest.fixture
def chunked_convolutions(monkeypatch):
    """Every convolution keeps no im2col matrix and works through several per-thread scratch
    chunks (the buffers a shared model's threads would trample if they were shared)."""
    monkeypatch.setattr(conv_kernels, "KEEP_COLS_BYTES", 2**12)
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 2**15)


def test_many_threads_on_shared_models_give_the_serial_results_and_change_nothing(
        chunked_convolutions):
    x, y, members, ensemble = _serving_models()
    conv_bn, resnet, mixed, _ = members
    calls = {
        "conv_bn.predict": lambda: conv_bn.predict(x, batch_size=8),
        "conv_bn.evaluate": lambda: conv_bn.evaluate(x, y, batch_size=20),
        "resnet.predict": lambda: resnet.predict(x, batch_size=12),
        "resnet.evaluate": lambda: resnet.evaluate(x, y),
        "mixed.predict": lambda: mixed.predict(x, batch_size=10),
        "mixed.evaluate": lambda: mixed.evaluate(x, y, batch_size=16),
        "ensemble.predict": lambda: ensemble.predict(x, batch_size=24),
        "ensemble.evaluate": lambda: ensemble.evaluate(x, y),
    }
    states = [(model, _state(model)) for model in members]
    serial = {name: call() for name, call in calls.items()}
    threads, rounds, failures = 8, 2, []

    def serve(seed):
        order = list(calls) * rounds
        random.Random(seed).shuffle(order)  # every thread interleaves the calls differently
        for name in order:
            try:
                result = calls[name]()
            except Exception as error:  # reported below, with the call that raised it
                failures.append(f"{name}: {error!r}")
                continue
            expected = serial[name]
            same = (result == expected if isinstance(expected, dict) else
                    result.dtype == expected.dtype and np.array_equal(result, expected))
            if not same:
                failures.append(f"{name} differs from its serial result")

    run_threads(serve, threads)
    assert not failures, f"{len(failures)} of {threads * rounds * len(calls)} calls: {failures[:5]}"
    for model, state in states:
        _assert_unchanged(model, state)
