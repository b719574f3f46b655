import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import floats, runtime_outputs
from lamina.errors import InteropError
from lamina.interop import load_onnx

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _lookup_file(tmp_path, axis=0, table_shape=(10, 4)):
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    table = numpy_helper.from_array(floats(table_shape), "table")
    nodes = [helper.make_node("Gather", ["table", "ids"], ["rows"], name="/embed/Gather",
                              axis=axis),
             helper.make_node("Relu", ["rows"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "g", [ids], [y], [table])
    model = helper.make_model(graph, opset_imports=[helper.make_operatorsetid("", 17)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)
    path = tmp_path / "lookup.onnx"
    onnx.save(model, str(path))
    return path


def test_gather_of_table_rows_is_an_embedding(tmp_path):
    path = _lookup_file(tmp_path)
    model = load_onnx(path)
    ids = np.random.default_rng(0).integers(0, 10, (5, 3))
    (want,) = runtime_outputs(path, {"ids": ids})
    np.testing.assert_array_equal(model.predict(ids), want)
    assert model.layers[0].name == "embed" and model.layers[0].num_embeddings == 10


def test_gather_along_another_axis_is_refused(tmp_path):
    with pytest.raises(InteropError, match=r"\(Gather\) is supported as an embedding lookup"):
        load_onnx(_lookup_file(tmp_path, axis=1, table_shape=(4, 10)))


@pytest.mark.parametrize("dynamo", [False, True])
def test_torch_embedding_network(tmp_path, dynamo):
    torch = pytest.importorskip("torch")
    from tests.interop.onnx_import_networks import export

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Flatten(),
                              torch.nn.Linear(12, 2)).eval()
    path = tmp_path / "embedding.onnx"
    export(net, [(3,)], path, dynamo, dtype=torch.int64)
    ids = np.random.default_rng(1).integers(0, 10, (6, 3))
    with torch.no_grad():
        want = net(torch.from_numpy(ids)).numpy()
    np.testing.assert_allclose(load_onnx(path).predict(ids), want, rtol=1e-5, atol=1e-6)


def test_lamina_embedding_round_trip(tmp_path):
    import lamina
    from lamina import layers as L
    from lamina.interop import export_onnx

    ids_input = lamina.Input((3,), "int64", name="ids")
    model = lamina.Model(ids_input, L.Linear(None, 2, name="head")(
        L.Flatten()(L.Embedding(10, 4, name="embed")(ids_input))))
    export_onnx(model, tmp_path / "model.onnx")
    imported = load_onnx(tmp_path / "model.onnx")
    ids = np.random.default_rng(2).integers(0, 10, (4, 3))
    np.testing.assert_array_equal(imported.predict(ids), model.predict(ids))
    np.testing.assert_array_equal(imported.layers[0].weight.data, model.layers[0].weight.data)
