"""The hook point: every layer call observed once, nested ones included, per thread."""

import threading

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.layers import hooks


class Calls:
    """Records (kind, layer) per call, and what the hooks received."""

    def __init__(self):
        self.calls, self.seen = [], []

    def forward(self, layer, inputs, output):
        self.calls.append(("forward", layer))
        self.seen.append((inputs, output))

    def backward(self, layer, douts, dinputs):
        self.calls.append(("backward", layer))
        self.seen.append((douts, dinputs))

    def observe(self):
        return hooks.observe(on_forward=self.forward, on_backward=self.backward)

    def layers(self, kind):
        return [layer for which, layer in self.calls if which == kind]


def every_layer(layer):
    yield layer
    for child in getattr(layer, "layers", []):
        yield from every_layer(child)


def nested_model():
    lamina.seed(0)
    block = lamina.Sequential([L.Linear(6, 6), L.ReLU()], name="block")
    return lamina.Sequential([
        L.Dense(6, activation="tanh"),  # Dense.forward calls Linear.forward: one call
        L.Residual(block),
        L.Concat([L.Linear(6, 3), lamina.Sequential([L.Linear(6, 3), L.Sigmoid()])]),
        L.Reshape((2, 3)),
        L.TransformerEncoderLayer(3, 1, dim_feedforward=4, dropout=0.0),
        L.Flatten(),
    ])


def test_every_nested_layer_is_observed_once_per_call_children_first():
    model = nested_model()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    model.forward(x)  # built outside the block
    recorder = Calls()
    with recorder.observe():
        out = model.forward(x)
        dx = model.backward(np.ones_like(out))
    everything = list(every_layer(model))
    for kind in ("forward", "backward"):
        observed = recorder.layers(kind)
        assert sorted(map(id, observed)) == sorted(map(id, everything)), kind
        for layer in everything:  # each child before the container holding it
            parent = layer.parent
            if parent is not None:
                assert observed.index(layer) < observed.index(parent)
    assert recorder.calls[len(everything) - 1] == ("forward", model)
    assert recorder.calls[-1] == ("backward", model)
    (inputs, output), = [seen for seen, (_, layer) in zip(recorder.seen, recorder.calls)
                         if layer is model and _ == "forward"]
    assert inputs[0] is x and output is out
    assert recorder.seen[-1][1] is dx
    dense = model.layers[0]
    dense_output = [seen[1] for seen, call in zip(recorder.seen, recorder.calls)
                    if call == ("forward", dense)]
    np.testing.assert_array_equal(dense_output[0], np.tanh(x @ dense.weight.data
                                                           + dense.bias.data))


def test_a_graph_model_reports_each_node_and_a_shared_layer_at_each_call():
    lamina.seed(0)
    a, b = lamina.Input((4,), name="a"), lamina.Input((4,), name="b")
    shared = L.Linear(4, 3, name="shared")
    inner = lamina.Sequential([L.Linear(3, 3), L.ReLU()], name="inner")
    merged = L.Add(name="sum")([shared(a), inner(shared(b))])
    model = lamina.Model([a, b], L.Linear(3, 2, name="head")(merged))
    recorder = Calls()
    xa, xb = np.ones((2, 4), np.float32), np.full((2, 4), 2.0, np.float32)
    with recorder.observe():
        out = model.forward([xa, xb])
        model.backward(np.ones_like(out))
    forwards = recorder.layers("forward")
    assert [layer.name for layer in forwards] == ["shared", "shared", "linear", "re_lu", "inner",
                                                  "sum", "head", model.name]
    assert [layer.name for layer in recorder.layers("backward")] == [
        "head", "sum", "re_lu", "linear", "inner", "shared", "shared", model.name]
    sum_inputs = recorder.seen[forwards.index(model.layers[-2])][0]
    assert len(sum_inputs) == 2  # a merge gets its inputs as a tuple


def test_nested_blocks_call_every_observer_and_each_block_restores_the_outer():
    layer = L.ReLU()
    x = np.array([[-1.0, 2.0]])
    outer, inner = Calls(), Calls()
    assert hooks.current.observers is None
    with outer.observe():
        with inner.observe():
            layer.forward(x)
        layer.forward(x)
        assert len(hooks.current.observers) == 1
    assert hooks.current.observers is None
    assert len(outer.calls) == 2 and len(inner.calls) == 1
    layer.forward(x)
    assert len(outer.calls) == 2


def test_a_raising_call_is_not_reported_and_the_block_still_restores():
    recorder = Calls()
    linear = L.Linear(3, 2)
    with pytest.raises(ShapeError, match="Linear 'linear'"):  # the error still names it
        with recorder.observe():
            linear.forward(np.ones((2, 5)))
    assert recorder.calls == [] and hooks.current.observers is None
    assert hooks.current.calling == set()
    with recorder.observe():
        linear.forward(np.ones((2, 3)))  # a failed call leaves no call in progress behind
    assert recorder.layers("forward") == [linear]


def test_observers_are_per_thread():
    model = nested_model()
    x = np.ones((3, 4), np.float32)
    model.forward(x)
    mine, results = Calls(), {}

    def other():
        theirs = Calls()
        model.forward(x)  # while the main thread observes: not seen by it
        with theirs.observe():
            model.layers[0].forward(x)
        results["theirs"] = theirs.layers("forward")
        results["observers"] = hooks.current.observers

    with mine.observe():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert mine.calls == []
    assert results["theirs"] == [model.layers[0]] and results["observers"] is None


def test_only_callables_are_accepted():
    with pytest.raises(ConfigError, match="on_forward as a callable or None. Received"):
        hooks.observe(on_forward=3)
    with hooks.observe(on_backward=lambda *args: None):  # one kind alone
        L.ReLU().forward(np.ones((1, 2)))


def test_the_layer_calls_an_observer_makes_are_not_observed():
    probe, calls = L.Sigmoid(), []

    def look(layer, inputs, output):
        calls.append(layer)
        probe.forward(output)  # would recurse if it were observed

    with hooks.observe(on_forward=look):
        L.ReLU().forward(np.ones((1, 2)))
        assert hooks.current.observers is not None
    assert [type(layer).__name__ for layer in calls] == ["ReLU"]
