"""lamina -> export_onnx -> load_onnx -> lamina is exact: the same layers (containers
unrolled, dropout gone: the file is inference), the same parameters and buffers bit for bit,
the same hyper-parameters, and bit-identical predictions."""

import numpy as np
import pytest

pytest.importorskip("onnx")

import lamina  # noqa: E402
from lamina import layers as L  # noqa: E402
from lamina.interop import export_onnx, load_onnx  # noqa: E402


def _sequential(layers, shape):
    model = lamina.Sequential(layers)
    model.build(shape)
    return model, [shape]


def _graph():
    a, b = lamina.Input((4,), name="a"), lamina.Input((3,), name="b")
    joined = L.Concatenate(axis=1)([L.Linear(None, 3, name="left")(a),
                                    L.Linear(None, 3, name="right")(b)])
    added = L.Add()([L.Linear(None, 3, name="one")(a), L.Linear(None, 3, name="two")(b)])
    mixed = L.Average()([added, L.Linear(None, 3, name="mix")(joined)])
    second = L.Multiply()([added, L.Subtract()([added, mixed])])
    model = lamina.Model([a, b], [L.Linear(None, 2, name="head")(joined), second])
    return model, [(None, 4), (None, 3)]


MODELS = {
    "mlp": lambda: _sequential([L.Dense(8, activation="relu"), L.Linear(8, 4), L.Tanh(),
                                L.Linear(4, 3), L.Softmax()], (None, 5)),
    "cnn": lambda: _sequential([L.Conv2D(1, 4, 3, padding=1), L.BatchNorm2D(4), L.ReLU(),
                                L.MaxPool2D(2), L.Conv2D(4, 4, 3, stride=2, groups=2), L.ReLU6(),
                                L.Flatten(), L.Dropout(0.3), L.Linear(None, 5)], (None, 1, 8, 8)),
    "activations": lambda: _sequential([L.LeakyReLU(0.1), L.ELU(0.5), L.GELU(), L.Sigmoid(),
                                        L.HardSigmoid(), L.HardSwish(), L.SiLU(), L.Softplus(),
                                        L.Softplus(2.0, 10.0), L.LogSoftmax()], (None, 6)),
    "spatial": lambda: _sequential([L.ZeroPad2D((1, 0, 2, 1)), L.AvgPool2D(2),
                                    L.GlobalAvgPool2D(), L.Reshape((2, 2)), L.Permute((2, 1)),
                                    L.BatchNorm1D(2)], (None, 4, 6, 6)),
    "norms": lambda: _sequential([L.Conv2D(2, 3, 3), L.InstanceNorm2D(3, affine=True),
                                  L.GlobalMaxPool2D(keepdims=True), L.Flatten(),
                                  L.LayerNorm((3,)), L.Linear(3, 2)], (None, 2, 5, 5)),
    "group_norms": lambda: _sequential([L.Conv2D(2, 4, 1), L.GroupNorm(4, 4, affine=False),
                                        L.ReLU(), L.GroupNorm(2, 4)], (None, 2, 3, 3)),
    "residual": lambda: _sequential([L.Conv2D(2, 2, 3, padding=1), L.Residual(lamina.Sequential(
        [L.Conv2D(2, 2, 3, padding=1), L.BatchNorm2D(2), L.ReLU()])), L.Flatten()],
        (None, 2, 4, 4)),
    "sequences": lambda: _sequential([L.Conv1D(2, 4, 3, padding=1, dilation=2), L.ReLU(),
                                      L.MaxPool1D(2), L.AvgPool1D(3, stride=1, padding=1),
                                      L.GlobalAvgPool1D(keepdims=True), L.Flatten()], (None, 2, 9)),
    "transposed": lambda: _sequential([L.ConvTranspose2D(3, 2, 3, stride=2, padding=1,
                                                         output_padding=1), L.Tanh()],
                                      (None, 3, 4, 4)),
    "upsampling": lambda: _sequential([L.Upsample2D(2), L.Upsample2D(size=(5, 9)),
                                       L.Upsample2D((2, 1), mode="bilinear"),
                                       L.Upsample2D(size=(4, 4), mode="bilinear",
                                                    align_corners=True)], (None, 2, 2, 3)),
    "graph": _graph,
}

# the layers the imported model holds: containers unrolled, Dropout gone, Flatten before a
# Linear on images (export_onnx writes it)
LAYERS = {
    "mlp": ["Linear", "ReLU", "Linear", "Tanh", "Linear", "Softmax"],
    "cnn": ["Conv2D", "BatchNorm2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU6", "Flatten", "Linear"],
    "activations": ["LeakyReLU", "ELU", "GELU", "Sigmoid", "HardSigmoid", "HardSwish", "SiLU",
                    "Softplus", "Softplus", "LogSoftmax"],
    "spatial": ["ZeroPad2D", "AvgPool2D", "GlobalAvgPool2D", "Flatten", "Reshape", "Permute",
                "BatchNorm1D"],
    "norms": ["Conv2D", "InstanceNorm2D", "GlobalMaxPool2D", "Flatten", "LayerNorm", "Linear"],
    "group_norms": ["Conv2D", "GroupNorm", "ReLU", "GroupNorm"],
    "residual": ["Conv2D", "Conv2D", "BatchNorm2D", "ReLU", "Add", "Flatten"],
    "sequences": ["Conv1D", "ReLU", "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D", "Flatten"],
    "transposed": ["ConvTranspose2D", "Tanh"],
    "upsampling": ["Upsample2D"] * 4,
    "graph": ["Linear", "Linear", "Concatenate", "Linear", "Linear", "Linear", "Add", "Linear",
              "Average", "Subtract", "Multiply"],
}

# hyper-parameters that describe how a layer was first initialised, not what it computes, and
# keepdims (export_onnx writes GlobalAvgPool2D() as a global pool keeping them, then Flatten)
_NOT_COMPARED = {"name", "weight_init", "bias_init", "keepdims"}


def _config(layer):
    return {key: value for key, value in layer.get_config().items() if key not in _NOT_COMPARED}


def _unrolled(model):
    layers = []
    for layer in model.layers:
        nested = getattr(layer, "layers", None)
        layers += _unrolled(layer) if nested else [layer]
    return layers


@pytest.mark.parametrize("opset", [17, 21])
@pytest.mark.parametrize("name", MODELS)
def test_round_trip_is_exact(tmp_path, name, opset):
    lamina.seed(0)
    model, shapes = MODELS[name]()
    for layer in model.layers:  # statistics that are not the initial ones
        if isinstance(layer, (L.BatchNorm1D, L.BatchNorm2D)):
            layer.running_mean = np.linspace(-0.5, 0.5, layer.num_features, dtype=np.float32)
            layer.running_var = np.linspace(0.5, 1.5, layer.num_features, dtype=np.float32)
    path = tmp_path / f"{name}.onnx"
    export_onnx(model, path, input_shape=None if isinstance(model, lamina.Model) else shapes[0],
                opset=opset)
    imported = load_onnx(path)
    assert [type(layer).__name__ for layer in imported.layers] == LAYERS[name]
    assert imported.output_names == (model.output_names if isinstance(model, lamina.Model)
                                     else [model.layers[-1].name])

    twins = {}  # class name -> the original's layers of that class, in order (Dense: Linear)
    for layer in _unrolled(model):
        twins.setdefault("Linear" if isinstance(layer, L.Linear) else type(layer).__name__,
                         []).append(layer)
    for layer in imported.layers:
        if not twins.get(type(layer).__name__):
            continue  # a Residual's Add, the Flatten export_onnx writes after a global pool
        twin = twins[type(layer).__name__].pop(0)
        if type(twin) is type(layer):
            assert _config(layer) == _config(twin), type(layer).__name__
        state, twin_state = layer.state_dict(), twin.state_dict()
        assert list(state) == list(twin_state)
        for key in state:
            assert state[key].dtype == twin_state[key].dtype
            np.testing.assert_array_equal(state[key], twin_state[key])

    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((3,) + shape[1:]).astype(np.float32) for shape in shapes]
    inputs = arrays if len(arrays) > 1 else arrays[0]
    expected, got = model.predict(inputs), imported.predict(inputs)
    for want, have in zip(*(out if isinstance(out, list) else [out] for out in (expected, got)),
                          strict=True):
        np.testing.assert_array_equal(have, want)


def test_layer_and_output_names_come_back(tmp_path):
    model, _ = _graph()
    export_onnx(model, tmp_path / "graph.onnx")
    imported = load_onnx(tmp_path / "graph.onnx")
    assert [layer.name for layer in imported.layers] == [layer.name for layer in model.layers]
    assert imported.input_names == ["a", "b"] and imported.output_names == model.output_names
