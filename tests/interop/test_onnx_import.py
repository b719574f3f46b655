"""lamina.interop.load_onnx on files torch.onnx.export writes (both exporters): the imported
model's outputs equal PyTorch's, one training step equals PyTorch's in float64, and a bad file
gives one clear InteropError before anything is built."""

import copy

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")

import lamina  # noqa: E402
from lamina import layers as L  # noqa: E402
from lamina.errors import InteropError  # noqa: E402
from lamina.interop import load_onnx  # noqa: E402
from lamina.interop.onnx_import_ops import CONVERTERS  # noqa: E402
from tests.interop.onnx_import_networks import NETWORKS, export, network  # noqa: E402

EXPORTERS = {"torchscript": False, "dynamo": True}
CASES = [(name, exporter) for name in NETWORKS for exporter in EXPORTERS]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(network name, exporter, keep_batch_norm) -> (torch module, shapes, .onnx path), cached."""
    files = {}

    def get(name, exporter, keep_batch_norm=False):
        key = (name, exporter, keep_batch_norm)
        if key not in files:
            module, shapes = network(name)
            path = tmp_path_factory.mktemp("onnx") / f"{name}_{exporter}.onnx"
            files[key] = module, shapes, export(module, shapes, path, EXPORTERS[exporter],
                                                keep_batch_norm)
        return files[key]
    return get


def _inputs(shapes, batch, seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch,) + shape).astype(dtype) for shape in shapes]


def _torch_forward(module, arrays):
    with torch.no_grad():
        return module(*[torch.from_numpy(a) for a in arrays]).numpy()


@pytest.mark.parametrize("keep_batch_norm", [False, True])
@pytest.mark.parametrize("name, exporter", CASES)
def test_outputs_equal_pytorch_float32(exported, name, exporter, keep_batch_norm):
    module, shapes, path = exported(name, exporter, keep_batch_norm)
    model = load_onnx(path)
    assert isinstance(model, lamina.Model)
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    arrays = _inputs(shapes, batch=7)  # exported with a batch of 2: the batch axis is dynamic
    out = model.predict(arrays if len(arrays) > 1 else arrays[0])
    expected = _torch_forward(module, arrays)
    assert out.dtype == np.float32 and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_kept_as_a_layer_with_its_statistics(exported):
    module, _, path = exported("cnn", "torchscript", keep_batch_norm=True)
    model = load_onnx(path)
    (norm,) = [layer for layer in model.layers if isinstance(layer, L.BatchNorm2D)]
    np.testing.assert_array_equal(norm.running_mean, module[1].running_mean.numpy())
    np.testing.assert_array_equal(norm.running_var, module[1].running_var.numpy())
    assert norm.momentum == 0.1 and norm.eps == 1e-5
    assert model.input_names == ["x0"]


def _parameter_pairs(model, module):
    """(lamina array, torch array or None) per parameter, layer by layer in lamina's layout
    (Linear weights (in, out)); None where torch has no bias but the file does (torch.export
    writes a zero bias for Conv2d(bias=False))."""
    kinds = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.GroupNorm)
    torch_layers = [m for m in module.modules() if isinstance(m, kinds)]
    lamina_layers = [layer for layer in model.layers if layer.parameters()]
    assert len(lamina_layers) == len(torch_layers)
    pairs = []
    for layer, torch_layer in zip(lamina_layers, torch_layers):
        weight = torch_layer.weight.detach().numpy()
        bias = None if torch_layer.bias is None else torch_layer.bias.detach().numpy()
        weight = weight.T if isinstance(torch_layer, torch.nn.Linear) else weight
        pairs += list(zip(layer.parameters(), [weight, bias]))
    return pairs


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("name, exporter", CASES)
def test_one_training_step_equals_pytorch_float64(exported, name, exporter, optimizer):
    module, shapes, path = exported(name, exporter, keep_batch_norm=True)
    model = load_onnx(path, dtype="float64")
    assert all(p.data.dtype == np.float64 for p in model.parameters())
    module = copy.deepcopy(module).double().train()  # the cached one stays as exported
    arrays = _inputs(shapes, batch=6, dtype=np.float64)
    target = np.random.default_rng(2).standard_normal(model.output_shape(
        *[(6,) + shape for shape in shapes]))
    lamina_optimizer, torch_optimizer = {
        "sgd": (lamina.optim.SGD(lr=0.1), torch.optim.SGD(module.parameters(), lr=0.1)),
        "adam": (lamina.optim.Adam(lr=0.01), torch.optim.Adam(module.parameters(), lr=0.01)),
    }[optimizer]
    model.compile(loss="mse", optimizer=lamina_optimizer)
    model.train()
    loss, _ = model.train_step(arrays if len(arrays) > 1 else arrays[0], target)

    torch_loss = torch.nn.functional.mse_loss(
        module(*[torch.from_numpy(a) for a in arrays]), torch.from_numpy(target))
    torch_optimizer.zero_grad()
    torch_loss.backward()
    torch_optimizer.step()

    np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-12)
    # Adam's first step is lr * g / (|g| + eps): for a gradient that is rounding noise (a
    # convolution's bias before a batch norm) both sides move by up to lr * 1e-17 / eps ~ 1e-11
    atol = 1e-9 if optimizer == "adam" else 1e-12
    for parameter, want in _parameter_pairs(model, module):
        if want is None:  # a zero bias before a batch norm: its gradient is rounding noise
            np.testing.assert_allclose(parameter.data, 0, atol=atol)
        else:
            np.testing.assert_allclose(parameter.data, want, rtol=1e-10, atol=atol)
    norms = [layer for layer in model.layers if isinstance(layer, L.BatchNorm2D)]
    torch_norms = [m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm, torch_norm in zip(norms, torch_norms, strict=True):
        np.testing.assert_allclose(norm.running_mean, torch_norm.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(norm.running_var, torch_norm.running_var.numpy(), rtol=1e-12)


def test_imported_model_fits_and_learns(exported):
    _, shapes, path = exported("cnn", "dynamo", keep_batch_norm=True)
    model = load_onnx(path)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64,) + shapes[0]).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    model.compile(loss="cross_entropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# -- bad files ------------------------------------------------------------------------------
def _save(tmp_path, model, name="model.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _relu_model(opset=17, nodes=None):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    nodes = nodes or [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_operatorsetid("", opset)])


def test_garbage_file_is_an_interop_error(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(InteropError, match="garbage.onnx"):
        load_onnx(path)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_truncated_file_is_an_interop_error(exported, tmp_path, fraction):
    _, _, path = exported("cnn", "torchscript")
    data = path.read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(InteropError, match="truncated"):
        load_onnx(truncated)


@pytest.mark.parametrize("opset", [9, 12, 22, 99])
def test_opset_outside_the_supported_range_is_named(tmp_path, opset):
    with pytest.raises(InteropError, match=f"opsets 13 to 21. Received: opset {opset}"):
        load_onnx(_save(tmp_path, _relu_model(opset)))


def test_every_unsupported_node_listed_in_one_error_before_building(tmp_path, monkeypatch):
    from onnx import helper

    nodes = [helper.make_node("Relu", ["x"], ["a"], name="first"),
             helper.make_node("Cos", ["a"], ["b"], name="cosine"),
             helper.make_node("Sigmoid", ["b"], ["c"], name="fine"),
             helper.make_node("Inverse", ["c"], ["d"], name="custom", domain="com.microsoft"),
             helper.make_node("Mod", ["d", "d"], ["y"], name="modulo")]
    model = _relu_model(nodes=nodes)
    model.opset_import.append(helper.make_operatorsetid("com.microsoft", 1))
    built = []
    monkeypatch.setitem(CONVERTERS, "Relu", lambda node, graph: built.append(node))
    with pytest.raises(InteropError) as caught:
        load_onnx(_save(tmp_path, model))
    message = str(caught.value)
    assert "3 node(s)" in message
    for part in ("'cosine' (Cos)", "'custom' (com.microsoft.Inverse)", "'modulo' (Mod)"):
        assert part in message
    assert "'fine'" not in message and built == []


@pytest.mark.parametrize("dilations", [[1, 1], [2, 2]])  # fine; refused mid-build
def test_importing_draws_no_random_numbers(tmp_path, dilations):
    from onnx import helper, numpy_helper

    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], name="conv"),
             helper.make_node("MaxPool", ["h"], ["y"], name="pool", kernel_shape=[2, 2],
                              dilations=dilations)]
    model = _relu_model(nodes=nodes)
    model.graph.input[0].type.tensor_type.shape.Clear()
    for size in ("N", 1, 6, 6):
        dim = model.graph.input[0].type.tensor_type.shape.dim.add()
        dim.dim_param, dim.dim_value = (size, 0) if size == "N" else ("", size)
    model.graph.output[0].type.tensor_type.shape.Clear()
    model.graph.initializer.append(numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w"))
    path = _save(tmp_path, model)
    lamina.seed(5)
    state = lamina.backend.rng_state()
    if dilations != [1, 1]:
        with pytest.raises(InteropError, match="dilations 1"):
            load_onnx(path)
    else:
        load_onnx(path)
    assert lamina.backend.rng_state() == state


def test_dtype_argument_converts_parameters_and_buffers(exported):
    _, shapes, path = exported("residual", "torchscript", keep_batch_norm=True)
    model = load_onnx(path, dtype=np.float64)
    assert {value.dtype for value in model.state_dict().values()} == {np.dtype(np.float64)}
    out = model.predict(_inputs(shapes, batch=3, dtype=np.float64)[0])
    assert out.dtype == np.float64


def test_boolean_inputs_are_refused(tmp_path):
    model = _relu_model()
    model.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.BOOL
    with pytest.raises(InteropError, match="float, double or integer inputs.*'x' of element "
                                           "type BOOL"):
        load_onnx(_save(tmp_path, model))


def test_a_fixed_batch_size_is_dynamic_after_import(tmp_path):
    """A file exported for batches of 2 ([2, 12] as the Reshape target) runs on any batch."""
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])
    target = numpy_helper.from_array(np.array([2, 12], np.int64), "target")
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "target"], ["y"])], "g", [x],
                              [y], [target])
    model = helper.make_model(graph, opset_imports=[helper.make_operatorsetid("", 17)])
    imported = load_onnx(_save(tmp_path, model))
    assert imported.predict(np.ones((5, 3, 4), np.float32)).shape == (5, 12)


def _torchscript_export(module, shapes, path, **options):
    import contextlib
    import io
    import warnings

    args = tuple(torch.randn(2, *shape, dtype=next(module.parameters()).dtype)
                 for shape in shapes)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), opset_version=17, dynamo=False, **options)
    return path


@pytest.mark.parametrize("options", [{}, {"keep_initializers_as_inputs": True}])
def test_a_file_exported_for_one_batch_size_runs_on_any(tmp_path, options):
    module, shapes = network("lenet")
    path = _torchscript_export(module, shapes, tmp_path / "static.onnx", **options)
    arrays = _inputs(shapes, batch=5)
    np.testing.assert_allclose(load_onnx(path).predict(arrays[0]),
                               _torch_forward(module, arrays), rtol=1e-5, atol=1e-5)


def test_a_float64_file_stays_float64(tmp_path):
    module, shapes = network("mlp")
    module = module.double()
    model = load_onnx(_torchscript_export(module, shapes, tmp_path / "double.onnx"))
    assert {p.data.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    arrays = _inputs(shapes, batch=4, dtype=np.float64)
    np.testing.assert_allclose(model.predict(arrays[0]), _torch_forward(module, arrays),
                               rtol=1e-12)
