"""export_onnx: every registered layer class (a new one without a converter fails
test_every_layer_class_has_a_case), the zoo, Sequential and graph models. Each case is
exported, passes onnx.checker.check_model(full_check=True), and onnxruntime's outputs equal
predict (float32, 1e-5) at two batch sizes."""

import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina import models
from lamina.errors import ConfigError
from lamina.interop import export_onnx
from lamina.layers import ConstantArithmetic
from lamina.layers.container import Composite, Container, named_layers
from lamina.layers.merge import Merge
from lamina.layers.registry import is_lamina_class, registered_layers
from lamina.compat.slugnet.lamina_layers import CustomActivation, WeightScaledDropout
from lamina.inference import Fused, Quantized, fold, quantize
from lamina.layers.augmentation import ImageAugmentation
from lamina.model import Sequential

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# Registered lamina classes with no case, and why: bases that compute nothing themselves.
UNSUPPORTED = {Container: "abstract base of the containers (no forward)",
               Composite: "abstract base of attribute-named containers (no forward)",
               Merge: "abstract base of the merge layers (no combine)",
               ImageAugmentation: "abstract base of the augmentation layers (no augment)",
               CustomActivation: "runs a user's slugnet Activation: Python code, no ONNX op"}


def folded(case):
    """A (model, shapes) case with its model folded (lamina.inference.fold)."""
    model, shapes = case
    return fold(randomized(model)), shapes


def quantized(case):
    """A one-unit case quantised (its output stays float: onnxruntime then runs the QDQ
    graph as written, and equals predict to rounding; test_onnx_quantized checks int8 runs)."""
    model, shapes = case
    calibration = sample(shapes, 32, 7)
    return quantize(randomized(model), calibration[0] if len(calibration) == 1
                    else calibration), shapes


def adapted(layer, shape):
    """A Normalization adapted to random data of `shape` (batch axis added)."""
    return layer.adapt(np.random.default_rng(4).normal(2.0, 3.0, (16,) + shape))


def randomized(model, seed=0):
    """model with every parameter and running statistic drawn at random (so that biases,
    batch-norm shifts and running variances are not their trivial initial values). A
    quantised model is left as quantize made it (its weights are multiples of its scales)."""
    if any(isinstance(layer, Quantized) for _, layer in named_layers(model)):
        return model
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data = (0.5 * rng.standard_normal(p.data.shape)).astype(p.data.dtype)
    for _, layer in named_layers(model):
        for name in getattr(layer, "buffer_names", ()):
            value = getattr(layer, name)
            fresh = rng.uniform(0.5, 1.5, value.shape) if "var" in name \
                else rng.standard_normal(value.shape)
            setattr(layer, name, fresh.astype(value.dtype))
    return model


def seq(*layers, shape):
    """A Sequential of `layers` built for `shape` (without the batch axis)."""
    model = Sequential(list(layers))
    model.build(input_shapes([shape])[0])
    return model, [shape]


def built(model, shape):
    """A model (a zoo Sequential) built for `shape`, exported as it is."""
    model.build(input_shapes([shape])[0])
    return model, [shape]


def tokens(shape, vocabulary):
    return ("tokens", tuple(shape), vocabulary)


def graph(build, *shapes):
    """A graph Model: build(*Inputs) -> outputs; a tokens(...) shape is an int64 Input."""
    inputs = [lamina.Input(shape[1], "int64", name=f"in{i}") if shape[0] == "tokens"
              else lamina.Input(shape, name=f"in{i}") for i, shape in enumerate(shapes)]
    outputs = build(*inputs)
    return lamina.Model(inputs, outputs), list(shapes)


def merged(cls, **kwargs):
    return lambda: graph(lambda a, b: cls(**kwargs)([a, L.ReLU()(b)]), (3, 4), (1, 4))


def pooled_and_unpooled():
    def build(x):
        values, indices = L.MaxPool2D(2, return_index=True, name="pool")(x)
        return [L.MaxUnpool2D(2, name="unpool")(values, indices), values, indices]
    return graph(build, (2, 6, 6))


def two_inputs_two_outputs():
    def build(image, extra):
        h = L.Flatten()(L.ReLU()(L.Conv2D(None, 4, 3, name="conv")(image)))
        h = L.Concatenate(axis=1)([h, extra])
        return [L.Linear(None, 5, name="digit")(h), L.Linear(None, 1, name="size")(h)]
    return graph(build, (1, 6, 6), (3,))


def attention_graph(is_causal):
    def build(query, key, value):
        return L.MultiHeadAttention(8, 2, is_causal=is_causal)(query, key, value)
    return graph(build, (4, 8), (5, 8), (5, 8)) if not is_causal else \
        graph(build, (5, 8), (5, 8), (5, 8))


def model_inside_sequential():
    inner, _ = graph(lambda x: L.Tanh()(L.Linear(None, 4, name="inner_fc")(x)), (6,))
    return seq(inner, L.Linear(4, 2, name="head"), shape=(6,))


# class -> builders () -> (model, input shapes without the batch axis, or tokens(...))
CASES = {
    L.Linear: [lambda: seq(L.Linear(12, 5), shape=(3, 4)),
               lambda: seq(L.Linear(6, 5, bias=False), shape=(6,))],
    L.Dense: [lambda: seq(L.Dense(4, activation="gelu"), L.Dense(3, activation="softmax"),
                          shape=(6,)),
              lambda: seq(L.Dense(4, use_bias=False), shape=(2, 3))],
    L.Conv2D: [lambda: seq(L.Conv2D(3, 4, 3, stride=2, padding=1), shape=(3, 7, 8)),
               lambda: seq(L.Conv2D(4, 6, (3, 2), stride=(1, 2), padding=(2, 1), dilation=2,
                                    groups=2, bias=False), shape=(4, 7, 8)),
               lambda: seq(L.Conv2D(3, 4, 4, stride=2, padding="same"), shape=(3, 7, 8)),
               lambda: seq(L.Conv2D(3, 4, 4, stride=3, padding="same"),
                           shape=(3, None, None)),  # auto_pad SAME_UPPER
               lambda: seq(L.Conv2D(3, 4, 4, padding="same", dilation=2),
                           shape=(3, None, None)),  # stride 1: explicit pads
               lambda: seq(L.Conv2D(3, 4, 3, padding=((1, 2), (0, 1)), padding_mode="reflect"),
                           shape=(3, 6, 7)),
               lambda: seq(L.Conv2D(3, 4, 3, padding="same", padding_mode="replicate"),
                           shape=(3, 6, 7))],
    L.ConvTranspose2D: [lambda: seq(L.ConvTranspose2D(4, 6, 3, stride=2, padding=1,
                                                      output_padding=1, groups=2),
                                    shape=(4, 3, 4)),
                        lambda: seq(L.ConvTranspose2D(4, 6, 3, stride=2, padding="same"),
                                    shape=(4, None, None))],
    L.Conv1D: [lambda: seq(L.Conv1D(3, 4, 3, stride=2, padding=1, dilation=2), shape=(3, 9)),
               lambda: seq(L.Conv1D(3, 4, 4, stride=2, padding="same"), shape=(3, None)),
               lambda: seq(L.Conv1D(3, 4, 3, padding=(2, 1), padding_mode="reflect"),
                           shape=(3, 9))],
    L.DepthwiseConv2D: [lambda: seq(L.DepthwiseConv2D(4, 3, padding=1, depth_multiplier=2),
                                    shape=(4, 5, 5))],
    L.SeparableConv2D: [lambda: seq(L.SeparableConv2D(4, 6, 3, stride=2, padding=1,
                                                      depth_multiplier=2), shape=(4, 6, 6))],
    L.MaxPool2D: [lambda: seq(L.MaxPool2D(3, stride=2, padding=1), shape=(2, 7, 6)),
                  pooled_and_unpooled],
    L.MaxUnpool2D: [pooled_and_unpooled],
    L.AvgPool2D: [lambda: seq(L.AvgPool2D(3, stride=2, padding=1), shape=(2, 7, 6)),
                  lambda: seq(L.AvgPool2D(2, padding="same"), shape=(2, 7, 6)),
                  lambda: seq(L.AvgPool2D(3, stride=2, padding=1, count_include_pad=False),
                              shape=(2, 7, 6))],
    L.MaxPool1D: [lambda: seq(L.MaxPool1D(3, stride=2, padding=1), shape=(2, 9)),
                  lambda: seq(L.MaxPool1D(2, padding="same"), shape=(2, None))],
    L.AvgPool1D: [lambda: seq(L.AvgPool1D(3, stride=2, padding=1), shape=(2, 9))],
    L.GlobalAvgPool2D: [lambda: seq(L.GlobalAvgPool2D(), shape=(3, 4, 5)),
                        lambda: seq(L.GlobalAvgPool2D(keepdims=True), shape=(3, 4, 5))],
    L.GlobalMaxPool2D: [lambda: seq(L.GlobalMaxPool2D(), shape=(3, 4, 5))],
    L.GlobalAvgPool1D: [lambda: seq(L.GlobalAvgPool1D(keepdims=True), shape=(3, 5))],
    L.GlobalMaxPool1D: [lambda: seq(L.GlobalMaxPool1D(), shape=(3, 5))],
    L.AdaptiveAvgPool2D: [lambda: seq(L.AdaptiveAvgPool2D((3, None)), shape=(2, 7, 5)),
                          lambda: seq(L.AdaptiveAvgPool2D(2), shape=(2, 5, 4))],
    L.BatchNorm1D: [lambda: seq(L.BatchNorm1D(5), shape=(5,)),
                    lambda: seq(L.BatchNorm1D(3, eps=1e-3), shape=(3, 6))],
    L.BatchNorm2D: [lambda: seq(L.BatchNorm2D(3), shape=(3, 4, 4))],
    L.LayerNorm: [lambda: seq(L.LayerNorm((4, 5)), shape=(3, 4, 5)),
                  lambda: seq(L.LayerNorm(5, elementwise_affine=False), shape=(5,)),
                  lambda: seq(L.LayerNorm(5, bias=False), shape=(2, 5))],
    L.GroupNorm: [lambda: seq(L.GroupNorm(2, 4), shape=(4, 3, 3)),
                  lambda: seq(L.GroupNorm(3, 6, affine=False), shape=(6, 5))],
    L.InstanceNorm2D: [lambda: seq(L.InstanceNorm2D(3, affine=True), shape=(3, 4, 4)),
                       lambda: seq(L.InstanceNorm2D(3, track_running_stats=True),
                                   shape=(3, 4, 4))],
    L.ReLU: [lambda: seq(L.ReLU(), shape=(3, 4))],
    L.ReLU6: [lambda: seq(L.Linear(4, 4), L.ReLU6(), shape=(4,))],
    L.LeakyReLU: [lambda: seq(L.LeakyReLU(0.2), shape=(5,))],
    L.ELU: [lambda: seq(L.ELU(0.7), shape=(5,))],
    L.GELU: [lambda: seq(L.GELU(), shape=(5,)), lambda: seq(L.GELU("tanh"), shape=(5,))],
    L.Sigmoid: [lambda: seq(L.Sigmoid(), shape=(5,))],
    L.SiLU: [lambda: seq(L.SiLU(), shape=(5,))],
    L.Softplus: [lambda: seq(L.Linear(5, 5), L.Softplus(beta=2.0, threshold=1.0), shape=(5,)),
                 lambda: seq(L.Softplus(), shape=(5,))],
    L.HardSigmoid: [lambda: seq(L.Linear(5, 5), L.HardSigmoid(), shape=(5,))],
    L.HardSwish: [lambda: seq(L.Linear(5, 5), L.HardSwish(), shape=(5,))],
    L.Tanh: [lambda: seq(L.Tanh(), shape=(5,))],
    L.Softmax: [lambda: seq(L.Softmax(), shape=(3, 4)), lambda: seq(L.Softmax(-1), shape=(3, 4))],
    L.LogSoftmax: [lambda: seq(L.LogSoftmax(axis=2), shape=(3, 4))],
    L.Flatten: [lambda: seq(L.Flatten(), shape=(2, 3, 4))],
    L.Reshape: [lambda: seq(L.Reshape((-1, 2)), shape=(3, 4))],
    L.Permute: [lambda: seq(L.Permute((3, 1, 2)), shape=(2, 3, 4))],
    ConstantArithmetic: [lambda: seq(ConstantArithmetic("subtract", (3, 1), True), shape=(3, 4)),
                         lambda: seq(ConstantArithmetic("multiply", (1, 4)), shape=(3, 4))],
    L.Dropout: [lambda: seq(L.Linear(4, 4), L.Dropout(0.5), shape=(4,))],
    WeightScaledDropout: [lambda: seq(L.Linear(4, 4), WeightScaledDropout(0.3), shape=(4,))],
    Fused: [lambda: folded(seq(L.Conv2D(2, 3, 3), L.BatchNorm2D(3), L.ReLU(), shape=(2, 5, 5))),
            lambda: folded(seq(L.Linear(4, 3), L.GELU(), shape=(4,)))],
    Quantized: [lambda: quantized(seq(L.Conv2D(2, 3, 3, padding=1), shape=(2, 5, 5))),
                lambda: quantized(seq(L.Flatten(), L.Linear(None, 3), shape=(2, 3)))],
    L.RandomFlip: [lambda: seq(L.RandomFlip(), shape=(2, 4, 5))],
    L.RandomErasing: [lambda: seq(L.RandomErasing(p=1.0), shape=(2, 4, 5))],
    L.RandomTranslation: [lambda: seq(L.RandomTranslation(0.2, 0.2), shape=(2, 4, 5))],
    L.RandomRotation: [lambda: seq(L.RandomRotation(0.1), shape=(2, 4, 5))],
    L.RandomCrop: [lambda: seq(L.RandomCrop(4, padding=2), shape=(2, 4, 5)),
                   lambda: seq(L.RandomCrop((4, 5), padding=(1, 2, 1, 2)), shape=(2, 4, 5)),
                   lambda: seq(L.RandomCrop((3, 2)), shape=(2, 5, 6))],
    L.Rescaling: [lambda: seq(L.Rescaling(1 / 255), shape=(2, 3)),
                  lambda: seq(L.Rescaling(2.0, offset=-1.0), shape=(2, 3))],
    L.Normalization: [lambda: seq(adapted(L.Normalization(), (2, 3, 4)), shape=(2, 3, 4)),
                      lambda: seq(adapted(L.Normalization(axis=-1, invert=True), (3,)),
                                  shape=(3,))],
    L.Add: [merged(L.Add), lambda: seq(L.Add([L.Linear(4, 3), L.Linear(4, 3)]), shape=(4,))],
    L.Subtract: [merged(L.Subtract)],
    L.Multiply: [merged(L.Multiply), lambda: seq(models.SEBlock(8, reduction=4),
                                                 shape=(8, 3, 3))],
    L.Average: [merged(L.Average),
                lambda: seq(L.Average([L.Tanh(), L.Sigmoid(), L.ReLU()]), shape=(4,))],
    L.Concatenate: [lambda: graph(lambda a, b: L.Concatenate(axis=-1)([a, b]), (3, 4), (3, 2))],
    L.Concat: [lambda: seq(L.Concat([L.Conv2D(3, 2, 1), Sequential([L.Conv2D(3, 4, 3, padding=1),
                                                                   L.ReLU()])]),
                           shape=(3, 5, 5))],
    L.Residual: [lambda: seq(L.Residual(Sequential([L.Linear(4, 4), L.ReLU()])), shape=(4,)),
                 lambda: seq(L.Residual(L.Conv2D(2, 3, 3, padding=1), L.Conv2D(2, 3, 1)),
                             shape=(2, 4, 4))],
    L.ZeroPad2D: [lambda: seq(L.ZeroPad2D((1, 2, -1, 0)), shape=(2, 4, 5)),
                  lambda: seq(L.ZeroPad2D(1), shape=(2, 3, 3))],
    L.Upsample2D: [lambda: seq(L.Upsample2D(2), shape=(2, 3, 4)),
                   lambda: seq(L.Upsample2D((2, 3), mode="bilinear"), shape=(2, 3, 4)),
                   lambda: seq(L.Upsample2D(size=(5, 7), mode="bilinear", align_corners=True),
                               shape=(2, 3, 4)),
                   lambda: seq(L.Upsample2D(size=(6, 9)), shape=(2, 3, 4)),
                   lambda: seq(L.Upsample2D(size=(2, 3)), shape=(2, 14, 5)),  # float32 floors
                   lambda: graph(lambda x: L.Upsample2D(3)(x), (2, None, None)),  # Resize
                   lambda: seq(L.Upsample2D(size=(3, 8), mode="bilinear"), shape=(2, 5, 3))],
    L.ChannelShuffle: [lambda: seq(L.ChannelShuffle(2), shape=(6, 2, 3))],
    models.ChannelSlice: [lambda: seq(models.ChannelSlice(1, 3), shape=(4, 2, 2))],
    L.Embedding: [lambda: seq(L.Embedding(10, 4, padding_idx=0), shape=tokens((5,), 10)),
                  lambda: graph(lambda ids, x: L.Add()([L.Embedding(10, 4)(ids), x]),
                                tokens((3, 5), 10), (3, 5, 4))],
    L.PositionalEmbedding: [lambda: seq(L.PositionalEmbedding(6, 4), shape=(5, 4))],
    L.RNN: [lambda: seq(L.RNN(3, 4, num_layers=2, nonlinearity="relu"), shape=(5, 3)),
            lambda: seq(L.RNN(3, 4, bidirectional=True, return_sequences=False), shape=(5, 3))],
    L.LSTM: [lambda: seq(L.LSTM(3, 4, num_layers=2, bidirectional=True), shape=(5, 3)),
             lambda: seq(L.LSTM(3, 4, return_sequences=False, return_state=True),
                         shape=(5, 3))],
    L.GRU: [lambda: seq(L.GRU(3, 4, num_layers=2), shape=(5, 3)),
            lambda: seq(L.GRU(3, 4, bidirectional=True, return_sequences=False, bias=False),
                        shape=(5, 3))],
    L.MultiHeadAttention: [lambda: seq(L.MultiHeadAttention(8, 2), shape=(5, 8)),
                           lambda: attention_graph(False), lambda: attention_graph(True)],
    L.TransformerEncoderLayer: [
        lambda: seq(L.TransformerEncoderLayer(8, 2, 16), shape=(5, 8)),
        lambda: seq(L.TransformerEncoderLayer(8, 2, 16, activation="gelu", norm_first=True),
                    shape=(5, 8))],
    L.TimeDistributed: [lambda: seq(L.TimeDistributed(L.Linear(None, 3)), shape=(4, 5)),
                        lambda: seq(L.TimeDistributed(L.Conv2D(2, 3, 3)), shape=(3, 2, 4, 4))],
    Sequential: [lambda: seq(Sequential([L.Linear(4, 3), Sequential([L.ReLU(), L.Linear(3, 2)])]),
                             L.Sigmoid(), shape=(4,))],
    lamina.Model: [two_inputs_two_outputs, model_inside_sequential],
}

ZOO = {
    "lenet5": lambda: built(models.LeNet5(input_size=16), shape=(1, 16, 16)),
    "resnet_small_se": lambda: built(models.resnet_small(in_channels=1, widths=(4, 8, 8),
                                                       se_reduction=2), shape=(1, 8, 8)),
    "mobilenet_v2": lambda: built(models.MobileNetV2(in_channels=1, width_mult=0.25,
                                                   last_channels=16), shape=(1, 8, 8)),
    "shufflenet_v2": lambda: built(models.ShuffleNetV2(in_channels=1, stages_repeats=(2, 1),
                                                     stages_out_channels=(4, 8, 16, 16)),
                                 shape=(1, 8, 8)),
    "transformer": lambda: built(models.TransformerClassifier(20, 3, 8, d_model=8, nhead=2,
                                                            dim_feedforward=16),
                               shape=tokens((6,), 20)),
}


def sample(shapes, batch, seed):
    """One input per shape (float32 normal, or int64 token ids) for `batch` examples; a
    size left None is 4 + batch."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        if isinstance(shape, tuple) and shape and shape[0] == "tokens":
            arrays.append(rng.integers(0, shape[2], (batch,) + shape[1]).astype(np.int64))
        else:
            sizes = tuple(4 + batch if size is None else size for size in shape)
            arrays.append(rng.standard_normal((batch,) + sizes).astype(np.float32))
    return arrays


def input_shapes(shapes):
    return [(None,) + (shape[1] if shape[0] == "tokens" else tuple(shape)) for shape in shapes]


def exported_and_compared(tmp_path, model, shapes, batches=(3, 1), **options):
    """Export, check the file, and compare onnxruntime with predict at each batch size."""
    path = tmp_path / "model.onnx"
    export_shapes = input_shapes(shapes)
    export_onnx(model, path, input_shape=export_shapes if len(shapes) > 1 else export_shapes[0],
                **options)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(model.input_names)
    assert [o.name for o in session.get_outputs()] == list(model.output_names)
    for seed, batch in enumerate(batches):
        arrays = sample(shapes, batch, seed)
        want = model.predict(arrays if len(arrays) > 1 else arrays[0])
        want = want if isinstance(want, list) else [want]
        got = session.run(None, dict(zip(model.input_names, arrays)))
        for name, ours, theirs in zip(model.output_names, want, got):
            assert theirs.shape == ours.shape and theirs.dtype == ours.dtype, name
            if ours.dtype.kind == "f":
                np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5, err_msg=name)
            else:
                np.testing.assert_array_equal(theirs, ours, err_msg=name)
    return proto


def test_every_layer_class_has_a_case():
    lamina_classes = {cls for cls in registered_layers().values() if is_lamina_class(cls)}
    missing = sorted(cls.__name__ for cls in lamina_classes - set(CASES) - set(UNSUPPORTED))
    assert not missing, f"layer classes with no export case (add one, or a reason): {missing}"


@pytest.mark.parametrize("build", [pytest.param(build, id=f"{cls.__name__}-{i}")
                                   for cls, builds in CASES.items()
                                   for i, build in enumerate(builds)])
def test_layer_exports_as_predict(tmp_path, build):
    model, shapes = build()
    exported_and_compared(tmp_path, randomized(model), shapes)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_exports_as_predict(tmp_path, name):
    model, shapes = ZOO[name]()
    exported_and_compared(tmp_path, randomized(model), shapes, batches=(2, 1))


def test_initializers_carry_the_parameter_names(tmp_path):
    model, shapes = seq(L.Conv2D(1, 2, 3, name="conv"), L.BatchNorm2D(2, name="bn"), L.Flatten(),
                        L.Linear(None, 3, name="fc"), shape=(1, 5, 5))
    proto = exported_and_compared(tmp_path, randomized(model), shapes)
    stored = {init.name: onnx.numpy_helper.to_array(init) for init in proto.graph.initializer}
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(stored[name], value, err_msg=name)
    assert {"0.weight", "1.gamma", "1.running_var", "3.weight"} <= set(stored)


def test_shared_layer_is_written_once(tmp_path):
    shared = L.Linear(None, 4, name="shared")
    model, shapes = graph(lambda a, b: L.Add()([shared(a), shared(b)]), (4,), (4,))
    proto = exported_and_compared(tmp_path, randomized(model), shapes)
    names = [init.name for init in proto.graph.initializer]
    assert names.count("shared.weight") == 1


def test_shape_the_model_was_built_for_and_variable_lengths(tmp_path):
    model = randomized(models.TransformerClassifier(20, 3, 8, d_model=8, nhead=2,
                                                    dim_feedforward=16))
    model.build((None, 8))
    export_onnx(model, tmp_path / "built.onnx")  # input_shape from the build
    dims = onnx.load(str(tmp_path / "built.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 8]
    export_onnx(model, tmp_path / "any_length.onnx", input_shape=(None, None))
    session = ort.InferenceSession(str(tmp_path / "any_length.onnx"),
                                   providers=["CPUExecutionProvider"])
    for length in (3, 8):
        ids = np.random.default_rng(length).integers(0, 20, (2, length))
        np.testing.assert_allclose(session.run(None, {"input": ids})[0], model.predict(ids),
                                   rtol=1e-5, atol=1e-5)


def test_input_as_output_and_an_output_twice(tmp_path):
    def build(x):
        y = L.Tanh(name="squash")(x)
        return [x, y, y]
    model, shapes = graph(build, (4,))
    assert model.output_names == ["in0", "squash", "squash_1"]
    exported_and_compared(tmp_path, model, shapes)


def test_a_bare_layer(tmp_path):
    layer = randomized(L.Conv2D(1, 2, 3, padding=1, name="edges"))
    export_onnx(layer, tmp_path / "layer.onnx", input_shape=(None, 1, 5, 5))
    session = ort.InferenceSession(str(tmp_path / "layer.onnx"),
                                   providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["edges"]
    x = np.random.default_rng(1).standard_normal((2, 1, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], layer.forward(x),
                               rtol=1e-5, atol=1e-5)


def test_fixed_batch(tmp_path):
    model, shapes = seq(L.Linear(4, 2), shape=(4,))
    path = tmp_path / "fixed.onnx"
    export_onnx(model, path, input_shape=(5, 4), dynamic_batch=False)
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [5, 4]


def test_circular_padding_needs_opset_19_and_same_with_dilation_known_sizes(tmp_path):
    model, shapes = seq(L.Conv2D(2, 3, 3, padding=(2, 1), padding_mode="circular"),
                        shape=(2, 5, 6))
    exported_and_compared(tmp_path, randomized(model), shapes, opset=19)
    with pytest.raises(ConfigError, match="from opset 19"):
        export_onnx(model, tmp_path / "m.onnx", opset=17)
    model, _ = seq(L.Conv2D(2, 3, 3, stride=2, dilation=2, padding="same"), shape=(2, 9, 9))
    with pytest.raises(ConfigError, match="size to be known"):
        export_onnx(model, tmp_path / "m.onnx", input_shape=(None, 2, None, None))
    exported_and_compared(tmp_path, randomized(model), [(2, 9, 9)])


@pytest.mark.parametrize("opset", [17, 21])
def test_opsets(tmp_path, opset):
    model, shapes = seq(L.Conv2D(2, 4, 3), L.GroupNorm(2, 4), L.Upsample2D(2), L.GELU(),
                        L.GlobalAvgPool2D(), L.LayerNorm(4), shape=(2, 5, 5))
    proto = exported_and_compared(tmp_path, randomized(model), shapes, opset=opset)
    assert proto.opset_import[0].version == opset


def test_bad_arguments(tmp_path):
    model, _ = seq(L.Linear(4, 2), shape=(4,))
    with pytest.raises(ConfigError, match="opset"):
        export_onnx(model, tmp_path / "m.onnx", opset=13)
    with pytest.raises(ConfigError, match="input_shape"):
        export_onnx(Sequential([L.Linear(4, 2)]), tmp_path / "m.onnx")
    with pytest.raises(ConfigError, match="a lamina model"):
        export_onnx(object(), tmp_path / "m.onnx")


def test_adaptive_pool_needs_known_sizes(tmp_path):
    model, _ = graph(lambda x: L.AdaptiveAvgPool2D(2, name="bins")(x), (2, None, None))
    with pytest.raises(ConfigError, match=r"AdaptiveAvgPool2D 'bins' .*needs the input's H and W"):
        export_onnx(model, tmp_path / "m.onnx")


@lamina.register_layer(name="tests.interop.Doubler")
class Doubler(L.Layer):
    def forward(self, x):
        return 2 * x


def test_layer_without_converter_is_named(tmp_path):
    model, _ = seq(L.Linear(4, 4), Doubler(name="twice"), shape=(4,))
    with pytest.raises(ConfigError, match=r"Doubler 'twice'.*tests\.interop\.test_onnx_export"
                                          r"\.Doubler\) has no ONNX converter"):
        export_onnx(model, tmp_path / "m.onnx")


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    model, _ = seq(L.Linear(4, 2), shape=(4,))
    with pytest.raises(ImportError, match=r'pip install "lamina\[onnx\]"'):
        export_onnx(model, tmp_path / "m.onnx")


def test_importing_lamina_does_not_import_onnx():
    # nor do the converters (documentation and doctests import them without the extra)
    code = ("import sys, lamina, lamina.interop, lamina.interop.onnx_ops; "
            "print('onnx' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
