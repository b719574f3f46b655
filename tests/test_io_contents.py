"""load_model believes a file only as far as its tensors go: the shapes its architecture (and
recorded input shape) implies, and the dtypes lamina computes in, are checked against the
tensors before any layer is built. Each mismatch names the layer, the tensor and both sides."""

import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.io import ModelFileError, load_model, load_safetensors, save_model, save_safetensors
from lamina.layers.base import Layer


def trained(path):
    """A compiled model (a nested Residual, batch-norm buffers, Adam state) saved at `path`."""
    lamina.seed(0)
    model = lamina.Sequential([
        L.Linear(3, 4), L.BatchNorm1D(4),
        L.Residual(lamina.Sequential([L.Linear(4, 4)]), L.Linear(4, 4))]).compile("mse", "adam")
    model.train_step(np.ones((5, 3), np.float32), np.zeros((5, 4), np.float32))
    save_model(model, path)
    return model


def rewrite(path, tensors=None, architecture=None, **metadata):
    """The file at `path` with tensors replaced and metadata changed, its checksum redone."""
    saved, meta = load_safetensors(path)
    if architecture is not None:
        metadata["lamina.architecture"] = json.dumps(architecture(
            json.loads(meta["lamina.architecture"])))
    save_safetensors(path, {**saved, **(tensors or {})}, {**meta, **metadata})
    return saved


def layer_config(architecture, *path):
    """The config of the layer at `path` (indices into Sequential layers, or "block")."""
    config = architecture["config"]
    for key in path:
        config = config[key]["config"] if key == "block" else config["layers"][key]["config"]
    return config


def inflate(path, value, *where):
    def change(architecture):
        layer_config(architecture, *where[:-1])[where[-1]] = value
        return architecture
    return change


# -- shapes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("where, value, message", [
    ((0, "out_features"), 10**6, r"Linear 'linear' \(layer 0\) weight: the architecture implies "
                                 r"shape \(3, 1000000\), the file's tensor '0.weight' has shape "
                                 r"\(3, 4\)"),
    ((1, "num_features"), 10**12, r"BatchNorm1D 'batch_norm1d' \(layer 1\) gamma: the "
                                  r"architecture implies shape \(1000000000000,\), the file's "
                                  r"tensor '1.gamma' has shape \(4,\)"),
    ((2, "block", 0, "in_features"), 10**6,
     r"Linear 'linear' \(layer 2.block.0\) weight: the architecture implies shape "
     r"\(1000000, 4\), the file's tensor '2.block.0.weight' has shape \(4, 4\)"),
], ids=["Linear", "BatchNorm1D", "nested"])
def test_a_lying_size_names_the_layer_the_tensor_and_both_shapes(tmp_path, where, value, message):
    trained(tmp_path / "m")
    rewrite(tmp_path / "m", architecture=inflate(tmp_path / "m", value, *where))
    with pytest.raises(ModelFileError, match=r"'.*m' cannot be loaded as a lamina model: its "
                                             r"tensors are not what the architecture it "
                                             r"describes implies: .*" + message):
        load_model(tmp_path / "m")


def chain_file(path):
    lamina.seed(0)
    model = lamina.Sequential([L.Conv2D(None, 3, 3), L.Flatten(), L.Linear(None, 2)])
    model.build((None, 2, 5, 5))
    save_model(model, path)


def lazy_file(path, shape):
    """A file of Conv2D(None, 3, 3) - Flatten - Linear(None, 2) built for (None, 2, 5, 5), its
    sizes left to infer from the recorded input shape, which is then `shape`."""
    chain_file(path)

    def lazy(architecture):
        layer_config(architecture, 0)["in_channels"] = layer_config(architecture, 2)[
            "in_features"] = None
        return architecture
    rewrite(path, architecture=lazy, **{"lamina.input_shape": json.dumps(shape)})


@pytest.mark.parametrize("shape, message", [
    ([None, 2, 5, 5], None),
    ([None, 20000, 5, 5], r"Conv2D 'conv2d' \(layer 0\) weight: the architecture implies shape "
                          r"\(3, 20000, 3, 3\), the file's tensor '0.weight' has shape "
                          r"\(3, 2, 3, 3\)"),
    ([None, 2, 10**6, 5], r"Linear 'linear' \(layer 2\) weight: the architecture implies shape "
                          r"\(8999982, 2\), the file's tensor '2.weight' has shape \(27, 2\)"),
    ([None, 2, 5], r"cannot rebuild the architecture it describes: Conv2D 'conv2d' \(layer 0\) "
                   r"expects input with 4 dimensions"),
    ([None, -2, 5, 5], r"lamina.input_shape entry must list the input's sizes, batch first "
                       r"\(ints >= 1, or null where unknown\). Received: \[None, -2, 5, 5\]"),
    ("big", r"lamina.input_shape entry must list .*Received: 'big'"),
    ([None], r"lamina.input_shape entry must list .*Received: \[None\]"),
], ids=["true", "channels", "height", "rank", "negative", "not-a-list", "no-features"])
def test_the_input_shape_lazy_layers_are_built_for_is_checked(tmp_path, shape, message):
    lazy_file(tmp_path / "m", shape)
    if message is None:
        assert load_model(tmp_path / "m").layers[2].in_features == 27
        return
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("write, shape, message", [
    (chain_file, "[null, 20000, 5, 5]", r"Conv2D 'conv2d' \(layer 0\) expects 2 channels"),
    (trained, "[null, 7]", r"Linear 'linear' \(layer 0\) expects 3 input features per example"),
], ids=["inferred-sizes-saved", "nothing-lazy"])
def test_a_recorded_input_shape_must_fit_the_sizes_in_the_file(tmp_path, write, shape, message):
    write(tmp_path / "m")
    rewrite(tmp_path / "m", **{"lamina.input_shape": shape})
    with pytest.raises(ModelFileError, match=r"cannot rebuild the architecture it describes: "
                                             + message):
        load_model(tmp_path / "m")


def test_optimizer_state_of_another_shape_names_the_tensor_and_parameter(tmp_path):
    trained(tmp_path / "m")
    rewrite(tmp_path / "m", {"optimizer/2/exp_avg": np.zeros((4, 5), np.float32)})
    with pytest.raises(ModelFileError, match=r"tensor 'optimizer/2/exp_avg' has shape \(4, 5\), "
                                             r"but it holds optimizer state of parameter "
                                             r"'1.gamma', of shape \(4,\)"):
        load_model(tmp_path / "m")


# -- dtypes -----------------------------------------------------------------------------------
REFUSED = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
           np.bool_]


@pytest.mark.parametrize("dtype", REFUSED, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name, layer", [("0.weight", r"Linear 'linear' \(layer 0\) weight"),
                                         ("1.running_var", r"BatchNorm1D 'batch_norm1d' "
                                                           r"\(layer 1\) running_var")],
                         ids=["parameter", "buffer"])
def test_integer_and_bool_weights_are_refused_by_name(tmp_path, name, layer, dtype):
    saved = trained(tmp_path / "m").state_dict()
    rewrite(tmp_path / "m", {name: saved[name].astype(dtype)})
    with pytest.raises(ModelFileError, match=layer + r": the architecture makes it floating "
                       r"\(float32 or float64; float16 is converted to float32\), the file's "
                       rf"tensor '{name}' is {np.dtype(dtype).name}"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("dtype", REFUSED, ids=lambda d: np.dtype(d).name)
def test_integer_and_bool_optimizer_state_is_refused_by_name(tmp_path, dtype):
    trained(tmp_path / "m")
    saved = rewrite(tmp_path / "m")
    rewrite(tmp_path / "m", {"optimizer/0/exp_avg": saved["optimizer/0/exp_avg"].astype(dtype)})
    with pytest.raises(ModelFileError, match=rf"tensor 'optimizer/0/exp_avg' is "
                                             rf"{np.dtype(dtype).name}; optimizer state is "
                                             rf"floating"):
        load_model(tmp_path / "m")


def test_float16_loads_as_float32_exactly(tmp_path):
    trained(tmp_path / "m")
    saved = rewrite(tmp_path / "m")
    half = {name: array.astype(np.float16) for name, array in saved.items()}
    rewrite(tmp_path / "m", half)
    loaded = load_model(tmp_path / "m")
    for name, array in loaded.state_dict().items():
        assert array.dtype == np.float32
        np.testing.assert_array_equal(array, half[name].astype(np.float32))
    moments = loaded.optimizer.state_dict()["state"][0]["exp_avg"]
    assert moments.dtype == np.float32
    np.testing.assert_array_equal(moments, half["optimizer/0/exp_avg"].astype(np.float32))
    loaded.train_step(np.ones((5, 3), np.float32), np.zeros((5, 4), np.float32))


def test_a_model_mixing_float32_and_float64_loads_as_it_was_saved(tmp_path):
    model = trained(tmp_path / "m")
    model.layers[1].astype(np.float64)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert ({name: a.dtype for name, a in loaded.state_dict().items()}
            == {name: a.dtype for name, a in model.state_dict().items()})
    assert {a.dtype for a in loaded.state_dict().values()} == {np.dtype("f4"), np.dtype("f8")}
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@lamina.register_layer
class IoCounter(Layer):
    """A layer with an integer buffer: how many batches it has seen in training."""

    buffer_names = ("batches_seen",)

    def __init__(self, name=None):
        super().__init__(name)
        self.batches_seen = self.new_buffer((), 0, np.int64)

    def forward(self, x):
        self.batches_seen = self.batches_seen + self.training
        return x


def test_integer_buffers_a_layer_makes_integer_keep_their_dtype(tmp_path):
    model = lamina.Sequential([IoCounter(), L.Linear(2, 2)])
    for _ in range(3):
        model.forward(np.ones((1, 2), np.float32))
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.layers[0].batches_seen.dtype == np.int64 and loaded.layers[0].batches_seen == 3
    rewrite(tmp_path / "m", {"0.batches_seen": np.array(3.0)})
    with pytest.raises(ModelFileError, match=r"IoCounter 'io_counter' \(layer 0\) batches_seen: "
                                             r"the architecture makes it int64, the file's tensor "
                                             r"'0.batches_seen' is float64"):
        load_model(tmp_path / "m")
