import json
import os
import struct

import numpy as np
import pytest

import lamina
from lamina import io, safetensors
from lamina import layers as L
from lamina.errors import ConfigError, DTypeError, NotBuiltError, ShapeError
from lamina.io import (ModelFileError, load_model, load_safetensors, read_model_file, save_model,
                       save_safetensors)
from lamina.layers.base import Layer
from lamina.layers.container import serialize
from lamina.parameter import Parameter
from tests.layers.test_mode import run_threads


def safetensors_bytes(header, data=b""):
    """A safetensors file by hand: u64 LE header size, header padded with spaces to 8, data."""
    text = header if isinstance(header, bytes) else (
        header if isinstance(header, str) else json.dumps(header)).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def read_header(path):
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    return size, json.loads(raw[8:8 + size])


# -- the safetensors format ------------------------------------------------------------------
F32_0_TO_5 = np.arange(6, dtype="<f4").tobytes()


@pytest.mark.parametrize("tensors, metadata, header", [
    # the official crate's serialization test vectors: 64 bytes need no padding, 65 take 7 spaces
    ({"attn.0": np.arange(6, dtype=np.float32).reshape(1, 2, 3)}, None,
     b'{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'),
    ({"attn0": np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)}, None,
     b'{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}' + b" " * 7),
    ({}, {"framework": "pt"}, b'{"__metadata__":{"framework":"pt"}}' + b" " * 5),
    ({}, None, b"{}" + b" " * 6),
], ids=["aligned", "padded", "metadata-only", "empty"])
def test_writer_bytes_equal_the_official_layout(tmp_path, tensors, metadata, header):
    save_safetensors(tmp_path / "t.safetensors", tensors, metadata, checksum=False)
    data = F32_0_TO_5 if tensors else b""
    assert (tmp_path / "t.safetensors").read_bytes() == struct.pack("<Q", len(header)) + header + data


def test_tensors_are_laid_out_by_alignment_then_name(tmp_path):
    tensors = {"b": np.ones(2, np.float32), "a": np.ones(1, np.float32), "c": np.ones(1, np.int64),
               "d": np.ones(3, np.uint8), "e": np.ones(1, np.float64)}
    save_safetensors(tmp_path / "t", tensors)
    size, header = read_header(tmp_path / "t")
    assert list(header.pop("__metadata__")) == ["lamina.checksum"]
    assert list(header) == ["c", "e", "a", "b", "d"] and size % 8 == 0
    assert [header[k]["data_offsets"] for k in header] == [[0, 8], [8, 16], [16, 20], [20, 28], [28, 31]]


def test_hand_built_file_is_parsed(tmp_path):
    header = ('{"__metadata__":{"format":"np","note":"é"},'
              '"second":{"dtype":"I16","shape":[2],"data_offsets":[16,20]},'
              '"first":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},'
              '"scalar":{"dtype":"U8","shape":[],"data_offsets":[20,21]},'
              '"empty":{"dtype":"F32","shape":[0,3],"data_offsets":[21,21]}}')
    data = np.array([1.5, -2.0], "<f8").tobytes() + np.array([7, -300], "<i2").tobytes() + b"\x09"
    (tmp_path / "h").write_bytes(safetensors_bytes(header, data))
    tensors, metadata = load_safetensors(tmp_path / "h")
    assert metadata == {"format": "np", "note": "é"}
    assert list(tensors) == ["first", "second", "scalar", "empty"]  # in file order
    assert tensors["first"].tolist() == [1.5, -2.0] and tensors["first"].dtype == np.float64
    assert tensors["second"].tolist() == [7, -300] and tensors["second"].dtype == np.int16
    assert tensors["scalar"].shape == () and tensors["scalar"] == 9
    assert tensors["empty"].shape == (0, 3) and tensors["empty"].dtype == np.float32


def test_every_dtype_round_trips(tmp_path, rng):
    tensors = {str(np.dtype(d)): (rng.integers(0, 100, (2, 3)) - 50 * (np.dtype(d).kind in "if")).astype(d)
               for d in (np.bool_, np.uint8, np.int8, np.int16, np.uint16, np.float16, np.int32,
                         np.uint32, np.float32, np.float64, np.int64, np.uint64)}
    tensors.update({"transposed": np.arange(12.0).reshape(3, 4).T, "big_endian": np.arange(3, dtype=">f4"),
                    "scalar": np.float32(2.5), "empty": np.zeros((2, 0), np.float32)})
    save_safetensors(tmp_path / "t", tensors, {"k": "v"})
    loaded, metadata = load_safetensors(tmp_path / "t")
    assert metadata.pop("lamina.checksum").startswith("sha256:")
    assert metadata == {"k": "v"} and set(loaded) == set(tensors)
    for name, array in tensors.items():
        expected = np.asarray(array)
        assert loaded[name].dtype == expected.dtype.newbyteorder("="), name
        assert loaded[name].dtype.isnative and loaded[name].flags.writeable
        np.testing.assert_array_equal(loaded[name], expected)


def _valid_header(**changes):
    return {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], **changes}}


MALFORMED_FILES = [
    (b"", r"holds 0 bytes, fewer than the 8-byte header size"),
    (struct.pack("<Q", 1000) + b"{}", r"header size field says 1000 bytes but only 2 follow"),
    (struct.pack("<Q", 10**9) + b"{}", r"over the 100000000-byte limit"),
    (safetensors_bytes('{"w": '), r"not a UTF-8 JSON object"),
    (safetensors_bytes(b'{"\xff": 1}'), r"not a UTF-8 JSON object"),
    (safetensors_bytes("[1, 2]"), r"does not start with '\{'"),
    (safetensors_bytes('{"w": {}, "w": {}}'), r"duplicate key 'w'"),
    (safetensors_bytes(_valid_header(), bytes(4)), r"span 8 bytes but 4 follow the header \(truncated"),
    (safetensors_bytes(_valid_header(), bytes(12)), r"span 8 bytes but 12 follow .*trailing bytes"),
    (safetensors_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)),
     r"tensor 'b' \(data_offsets \[4, 12\]\) overlaps tensor 'a', which ends at 8"),
    (safetensors_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                        "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}, bytes(16)),
     r"bytes 8 to 12 of the data belong to no tensor \(a gap before 'b'\)"),
    (safetensors_bytes(_valid_header(shape=[3]), bytes(8)),
     r"shape \[3\] and dtype F32 takes 12 bytes, but its data_offsets \[0, 8\] span 8"),
    (safetensors_bytes(_valid_header(dtype="F33"), bytes(8)), r"dtype 'F33'; lamina reads BOOL"),
    (safetensors_bytes(_valid_header(dtype="BF16", shape=[4]), bytes(8)), r"dtype 'BF16'"),
    (safetensors_bytes(_valid_header(shape=[-2]), bytes(8)), r"shape \[-2\]; expected a list of ints"),
    (safetensors_bytes(_valid_header(data_offsets=[8, 0]), bytes(8)), r"0 <= begin <= end"),
    (safetensors_bytes({"w": {"dtype": "F32", "shape": [2]}}, bytes(8)),
     r"exactly dtype, shape and data_offsets"),
    (safetensors_bytes({"__metadata__": {"a": 1}}), r"__metadata__ must map strings to strings"),
]
MALFORMED_IDS = ["empty-file", "header-past-end", "header-too-large", "bad-json", "not-utf8",
                 "not-object", "duplicate-key", "truncated-data", "trailing-bytes", "overlap", "gap",
                 "shape-product", "unknown-dtype", "bfloat16", "negative-dim", "reversed-offsets",
                 "missing-field", "metadata-not-strings"]


@pytest.mark.parametrize("raw, message", MALFORMED_FILES, ids=MALFORMED_IDS)
def test_malformed_files_raise_clear_errors(tmp_path, raw, message):
    (tmp_path / "bad.safetensors").write_bytes(raw)
    with pytest.raises(ModelFileError, match=r"bad.safetensors' is not a valid safetensors file: .*" + message):
        load_safetensors(tmp_path / "bad.safetensors")
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "bad.safetensors")


@pytest.mark.parametrize("tensors, metadata, error, message", [
    ({}, {"a": 1}, ConfigError, r"dict of str -> str .*Received: 'a': 1"),
    ({"x": np.ones(2, np.complex64)}, None, DTypeError, r"tensor 'x'.*Received: complex64"),
    ({"x": np.array([None])}, None, DTypeError, r"Received: object"),
    ({"__metadata__": np.ones(1)}, None, ConfigError, r"other than '__metadata__'"),
    ([np.ones(1)], None, ConfigError, r"dict of name -> array. Received: list"),
])
def test_save_safetensors_rejects_what_the_format_cannot_hold(tmp_path, tensors, metadata, error, message):
    with pytest.raises(error, match=message):
        save_safetensors(tmp_path / "t", tensors, metadata)
    assert os.listdir(tmp_path) == []


# -- state_dict / load_state_dict / get_weights / set_weights ------------------------------------
def small_model():
    return lamina.Sequential([L.Linear(3, 4), L.BatchNorm1D(4), lamina.Sequential([L.Linear(4, 2)])])


def test_state_dict_names_order_and_copies():
    model = small_model()
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.gamma", "1.beta", "2.0.weight", "2.0.bias",
                           "1.running_mean", "1.running_var"]
    state["0.weight"][...] = 7.0
    state["1.running_mean"][...] = 7.0
    assert not np.any(model.layers[0].weight.data == 7.0) and not np.any(model.layers[1].running_mean == 7.0)
    weights = model.get_weights()
    assert len(weights) == 8 and all(np.array_equal(a, b) for a, b in zip(weights, model.state_dict().values()))


@pytest.mark.parametrize("change, error, message", [
    (lambda s: s.pop("2.0.bias"), ConfigError, r"Missing: \['2.0.bias'\]; unexpected: \[\]"),
    (lambda s: s.update(extra=np.ones(1)), ConfigError, r"Missing: \[\]; unexpected: \['extra'\]"),
    (lambda s: s.update({"1.gamma": np.ones(5, np.float32)}), ShapeError,
     r"1 of 8 entries have the wrong shape .*Received: 1.gamma: expected \(4,\), received \(5,\)"),
    (lambda s: s.update({"1.running_var": np.ones(4)}), DTypeError,
     r"wrong dtype \(nothing was loaded; convert with astype first\).*expected float32, received float64"),
], ids=["missing", "unexpected", "shape", "dtype"])
def test_load_state_dict_checks_everything_before_changing_anything(change, error, message):
    model, source = small_model(), small_model()
    source.layers[1].running_mean += 1.0
    state = source.state_dict()
    change(state)
    before = model.state_dict()
    with pytest.raises(error, match=r"Sequential 'sequential'.load_state_dict.*" + message):
        model.load_state_dict(state)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_load_state_dict_copies_and_strict_false_loads_the_rest():
    model, source = small_model(), small_model()
    state = source.state_dict()
    assert model.load_state_dict(state) == ([], [])
    state["0.weight"][...] = 3.0
    np.testing.assert_array_equal(model.layers[0].weight.data, source.layers[0].weight.data)
    partial = {"0.bias": np.full(4, 2.0, np.float32), "bogus": np.ones(1)}
    missing, unexpected = model.load_state_dict(partial, strict=False)
    assert unexpected == ["bogus"] and len(missing) == 7 and "0.bias" not in missing
    assert model.layers[0].bias.data.tolist() == [2.0] * 4


def test_set_weights_round_trip_and_errors():
    model, source = small_model(), small_model()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    model.set_weights(source.get_weights())
    np.testing.assert_array_equal(model.eval().forward(x), source.eval().forward(x))
    with pytest.raises(ConfigError, match=r"set_weights expects a list of 8 arrays .*Received: 7"):
        model.set_weights(source.get_weights()[:7])
    lazy = lamina.Sequential([L.Linear(None, 2)])
    with pytest.raises(NotBuiltError, match=r"Sequential 'sequential' has no weights yet.*build"):
        lazy.state_dict()


# -- model files -----------------------------------------------------------------------------
def every_layer_model():
    return lamina.Sequential([
        L.Conv2D(None, 4, 3, stride=2, padding=1), L.BatchNorm2D(4), L.ReLU(),
        L.Conv2D(4, 6, (2, 3), dilation=(1, 2), groups=2), L.Tanh(), L.MaxPool2D(2, stride=1),
        L.ConvTranspose2D(6, 3, 3, stride=2, output_padding=1), L.AvgPool2D(2), L.Dropout(0.3),
        L.Flatten(), L.Linear(None, 8, weight_init="he_normal"), L.BatchNorm1D(8), L.Sigmoid(),
        lamina.Sequential([L.Linear(8, 5, name="head")]), L.Softmax(),
    ])


def image_data(dtype, n=12):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 2, 13, 13)).astype(dtype), rng.integers(0, 5, n)


def assert_same_state(a, b):
    state_a, state_b = a.state_dict(), b.state_dict()
    assert list(state_a) == list(state_b)
    for name in state_a:
        assert state_a[name].dtype == state_b[name].dtype, name
        np.testing.assert_array_equal(state_a[name], state_b[name], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_round_trip_is_bit_exact(tmp_path, dtype):
    lamina.seed(0)
    x, y = image_data(dtype)
    model = every_layer_model()
    model.build((None,) + x.shape[1:])
    model.astype(dtype)
    model.compile("cross_entropy", lamina.optim.Adam(lr=1e-2, amsgrad=True), ["accuracy"])
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.layers[0].bias.trainable = False
    model.save(tmp_path / "model.lamina")

    loaded = load_model(tmp_path / "model.lamina")
    assert serialize(loaded) == serialize(model) and loaded.layers[-2].layers[0].name == "head"
    assert_same_state(loaded, model)
    assert loaded.predict(x).dtype == dtype
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    assert [p.trainable for p in loaded.parameters()] == [p.trainable for p in model.parameters()]
    assert type(loaded.loss) is type(model.loss) and loaded.loss.get_config() == model.loss.get_config()
    assert repr(loaded.optimizer) == repr(model.optimizer) and loaded.metrics == ["accuracy"]
    assert len(loaded.optimizer.state_dict()["state"]) == len(model.parameters())

    size, header = read_header(tmp_path / "model.lamina")
    metadata = header.pop("__metadata__")
    assert size % 8 == 0 and all(isinstance(v, str) for v in metadata.values())
    assert metadata["lamina.format"] == "lamina-model" and metadata["lamina.format_version"] == "2"
    assert metadata["lamina.checksum"].startswith("sha256:") and len(metadata["lamina.checksum"]) == 71
    assert json.loads(metadata["lamina.input_shape"]) == [None, 2, 13, 13]
    assert json.loads(metadata["lamina.compile"])["optimizer"]["class_name"] == "Adam"
    code = {np.float32: "F32", np.float64: "F64"}[dtype]
    assert {info["dtype"] for info in header.values()} == {code}
    assert "optimizer/0/exp_avg" in header and "1.running_var" in header


def test_newer_layers_round_trip(tmp_path):
    lamina.seed(1)
    model = lamina.Sequential([
        L.Residual(lamina.Sequential([L.Conv2D(2, 2, 3, padding=1), L.GroupNorm(1, 2)])),
        L.Concat([L.InstanceNorm2D(2, affine=True, track_running_stats=True), L.LeakyReLU(0.2)]),
        L.Add([L.ELU(), L.GELU(approximate="tanh")]), L.LayerNorm((4, 7, 7)), L.Flatten(),
        L.Linear(None, 3),
    ])
    x, y = image_data(np.float32)
    x = x[:, :, :7, :7]
    model.compile("cross_entropy", lamina.optim.SGD(lr=0.1, momentum=0.9))
    model.fit(x, y % 3, epochs=1, batch_size=4, verbose=0)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert_same_state(loaded, model)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def resumable_model():
    return lamina.Sequential([L.Conv2D(2, 3, 3, stride=2), L.BatchNorm2D(3), L.ReLU(), L.Flatten(),
                              L.Dropout(0.25), L.Linear(None, 5)])


@pytest.mark.parametrize("make_optimizer", [
    lambda: lamina.optim.Adam(lr=1e-2, weight_decay=1e-3),
    lambda: lamina.optim.SGD(lr=0.05, momentum=0.9, nesterov=True),
], ids=["adam", "sgd-momentum"])
def test_training_resumes_exactly(tmp_path, make_optimizer):
    x, y = image_data(np.float32, n=24)
    runs = {}
    for mode in ("straight", "resumed", "without-optimizer-state"):
        lamina.seed(3)
        model = resumable_model()
        model.compile("cross_entropy", make_optimizer(), ["accuracy"])
        if mode == "straight":
            model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        else:
            model.fit(x, y, epochs=1, batch_size=8, verbose=0)
            model.save(tmp_path / mode, include_optimizer=mode == "resumed")
            model = load_model(tmp_path / mode)
            model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        runs[mode] = model
    assert_same_state(runs["resumed"], runs["straight"])
    assert runs["resumed"].optimizer.iterations == runs["straight"].optimizer.iterations == 6
    fresh = runs["without-optimizer-state"].state_dict()
    assert not np.array_equal(fresh["5.weight"], runs["straight"].state_dict()["5.weight"])


def test_loading_draws_no_random_numbers(tmp_path):
    model = resumable_model()
    model.build((None, 2, 7, 7))
    save_model(model, tmp_path / "m")
    rng = lamina.backend.get_rng()
    before = rng.bit_generator.state
    resumable_model()  # building layers draws their initial weights...
    assert rng.bit_generator.state != before
    before = rng.bit_generator.state
    load_model(tmp_path / "m")  # ...but loading puts the generator back
    assert rng.bit_generator.state == before


def test_threads_load_while_another_draws_from_the_global_generator(tmp_path):
    """Loading builds layers from a generator of its own: threads that load at once get the
    file's model, and a thread drawing meanwhile (a Dropout mask in training, say) sees the
    global generator's sequence, never rewound."""
    model = resumable_model()
    model.build((None, 2, 7, 7))
    save_model(model, tmp_path / "m")
    lamina.seed(7)
    expected = lamina.backend.get_rng().random(2**22)
    lamina.seed(7)
    loaded, drawn = [], []

    def load_or_draw(index):
        if index:
            loaded.extend(load_model(tmp_path / "m") for _ in range(5))
        else:
            while len(loaded) < 20 and 16 * len(drawn) < len(expected):
                drawn.append(lamina.backend.get_rng().random(16))

    run_threads(load_or_draw, 5)
    drawn = np.concatenate(drawn)
    np.testing.assert_array_equal(drawn, expected[:len(drawn)])
    assert len(loaded) == 20
    for copy in loaded:
        assert_same_state(copy, model)


# -- atomic writes ----------------------------------------------------------------------------
def saved(tmp_path, seed):
    lamina.seed(seed)
    model = lamina.Sequential([L.Linear(3, 2)])
    save_model(model, tmp_path / "model.lamina")
    return model


def test_a_failed_replace_leaves_the_previous_file(tmp_path, monkeypatch):
    first = saved(tmp_path, 0)
    before = (tmp_path / "model.lamina").read_bytes()

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        saved(tmp_path, 1)
    assert (tmp_path / "model.lamina").read_bytes() == before
    assert os.listdir(tmp_path) == ["model.lamina"]
    monkeypatch.undo()
    assert_same_state(load_model(tmp_path / "model.lamina"), first)


@pytest.mark.parametrize("existing", [False, True])
def test_a_failure_mid_write_leaves_no_partial_file(tmp_path, monkeypatch, existing):
    if existing:
        saved(tmp_path, 0)
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    calls = []

    def failing_write(file, array):
        calls.append(array.nbytes)
        file.write(array.reshape(-1).view(np.uint8)[: array.nbytes // 2])
        raise RuntimeError("interrupted")

    monkeypatch.setattr(safetensors, "_write_array", failing_write)
    with pytest.raises(RuntimeError, match="interrupted"):
        saved(tmp_path, 1)
    assert calls and sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before


def test_callables_in_configs_are_stored_by_name_or_refused(tmp_path):
    model = lamina.Sequential([L.Linear(3, 2, weight_init=lamina.init.he_normal, name="fc")])
    save_model(model, tmp_path / "named")
    loaded = load_model(tmp_path / "named")
    assert loaded.layers[0].weight_init == "he_normal"
    assert_same_state(loaded, model)

    model = lamina.Sequential([L.Linear(3, 2, weight_init=lambda shape, **fans: np.ones(shape), name="fc")])
    with pytest.raises(ConfigError, match=r"Linear 'fc'.config.weight_init=<function .*Pass an "
                                          r"initializer by name, one of \[.*'he_normal'"):
        save_model(model, tmp_path / "lambda")
    assert sorted(os.listdir(tmp_path)) == ["named"]


# -- user-defined layers and errors -----------------------------------------------------------
@lamina.register_layer
class IoTestGain(Layer):
    """A user-defined lazy layer: y = gain * x, gain shaped like one example; counts its calls."""

    param_names = ("gain",)
    buffer_names = ("calls",)

    def __init__(self, initial=1.0, name=None):
        super().__init__(name)
        self.initial = initial
        self.built = False

    def build(self, input_shape):
        self.gain = Parameter(np.full(input_shape[1:], self.initial, lamina.floatx()), "gain")
        self.calls = np.zeros(1, lamina.floatx())
        self.built = True

    def forward(self, x):
        self.calls = self.calls + 1
        return x * self.gain.data


def test_user_defined_lazy_layer_round_trips(tmp_path):
    model = lamina.Sequential([IoTestGain(0.5), L.Linear(None, 2)])
    x = np.random.default_rng(0).standard_normal((4, 3, 2)).astype(np.float32)
    model.predict(x)  # builds for (None, 3, 2), which the file records
    model.layers[0].gain.data = np.arange(6, dtype=np.float32).reshape(3, 2)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded.layers[0], IoTestGain) and loaded.layers[0].initial == 0.5
    assert_same_state(loaded, model)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))

    del model.input_shape
    save_model(model, tmp_path / "no-shape")
    with pytest.raises(ModelFileError, match=r"cannot rebuild .*records no input shape"):
        load_model(tmp_path / "no-shape")


def write_model_file(path, model, **metadata_changes):
    """A model file whose metadata or tensors were edited, as a corrupted or foreign file would be."""
    save_model(model, path)
    tensors, metadata = load_safetensors(path)
    drop = metadata_changes.pop("drop_tensor", None)
    tensors.pop(drop, None)
    metadata.update(metadata_changes)
    save_safetensors(path, tensors, {k: v for k, v in metadata.items() if v is not None})


LOAD_MODEL_ERRORS = [
    ({"lamina.format": None}, r"no lamina.format entry \(a plain safetensors file"),
    ({"lamina.format_version": "3"}, r"written by a newer lamina \(format version 3\); this lamina "
                                     r"reads versions 1 and 2. Upgrade lamina to load it"),
    ({"lamina.format_version": "2.0"}, r"format version '2.0'; this lamina reads versions 1 and 2"),
    ({"lamina.format_version": None}, r"format version None; this lamina reads versions 1 and 2"),
    ({"lamina.architecture": '{"class_name": "Nope", "config": {}}'},
     r"cannot rebuild the architecture it describes: Unknown layer class 'Nope'"),
    ({"lamina.architecture": "{not json"}, r"lamina.architecture entry is not valid JSON"),
    ({"drop_tensor": "0.bias"}, r"weights do not fit .*Missing: \['0.bias'\]"),
    ({"drop_tensor": "optimizer/0/exp_avg"}, r"cannot restore .*exp_avg"),
    ({"lamina.optimizer": '{"lr": 0.1, "state": {"9": {"step": 1}}}'},
     r"optimizer state for parameter '9', but the model has 2 parameters"),
    ({"lamina.compile": '{"loss": {"class_name": "Mystery", "config": {}}, '
                        '"optimizer": {"class_name": "SGD", "config": {}}, "metrics": []}'},
     r"unknown Loss class 'Mystery': import the module"),
]
LOAD_MODEL_ERROR_IDS = ["foreign", "newer-version", "odd-version", "no-version", "unknown-layer",
                        "bad-json", "missing-weight", "missing-moment", "bad-position", "unknown-loss"]


@pytest.mark.parametrize("changes, message", LOAD_MODEL_ERRORS, ids=LOAD_MODEL_ERROR_IDS)
def test_load_model_errors(tmp_path, changes, message):
    model = lamina.Sequential([L.Linear(3, 2)]).compile("mse", "adam")
    model.train_step(np.ones((2, 3), np.float32), np.zeros((2, 2), np.float32))
    write_model_file(tmp_path / "m", model, **changes)
    with pytest.raises(ModelFileError, match=r"'.*m' cannot be loaded as a lamina model: .*" + message):
        load_model(tmp_path / "m")


def test_compile_false_skips_training_state(tmp_path):
    model = lamina.Sequential([L.Linear(3, 2)]).compile("mse", "adam")
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m", compile=False)
    assert loaded.loss is None and loaded.optimizer is None
    assert load_model(tmp_path / "m").optimizer.get_config() == model.optimizer.get_config()


@pytest.mark.parametrize("make, error, message", [
    (lambda: lamina.Sequential([L.Linear(None, 2)]), NotBuiltError, r"is not built yet.*build"),
    (lambda: "model", ConfigError, r"expects a lamina Layer.*Received: str"),
    (lambda: lamina.Sequential([L.Linear(3, 2)]).compile(lambda p, y: (0.0, p)), ConfigError,
     r"cannot store the loss <function .*plain function"),
    (lambda: lamina.Sequential([L.Linear(3, 2)]).compile("mse", metrics=[lambda o, y: 1.0]),
     ConfigError, r"cannot store the metric <function .*named metrics, one of \['accuracy', 'auc', "),
], ids=["unbuilt", "not-a-layer", "plain-loss", "plain-metric"])
def test_save_model_errors(tmp_path, make, error, message):
    with pytest.raises(error, match=message):
        save_model(make(), tmp_path / "m")
    assert os.listdir(tmp_path) == []


def test_extra_entries_round_trip_beside_the_model(tmp_path):
    model = lamina.Sequential([L.Linear(3, 2)])
    path = tmp_path / "m.lamina"
    save_model(model, path, extra_metadata={"x.note": "hello"},
               extra_tensors={"x/order": np.arange(5)})
    loaded, metadata, extra = read_model_file(path)
    assert metadata["x.note"] == "hello"
    np.testing.assert_array_equal(extra["x/order"], np.arange(5))
    np.testing.assert_array_equal(loaded.layers[0].weight.data, model.layers[0].weight.data)
    with pytest.raises(ConfigError, match="start with 'x.'"):
        save_model(model, path, extra_metadata={"lamina.format": "other"})
    with pytest.raises(ConfigError, match="start with 'x/'"):
        save_model(model, path, extra_tensors={"0.weight": np.zeros(1)})


def test_frozen_layers_round_trip_with_their_flags_and_parameters(tmp_path):
    """layer.trainable travels in the architecture, each parameter's in lamina.frozen: a child
    unfrozen inside a frozen container comes back so, and a frozen batch norm stays in
    inference mode."""
    model = lamina.Sequential([L.Conv2D(1, 2, 3), lamina.Sequential([L.BatchNorm2D(2), L.Linear(None, 2)])])
    model.build((None, 1, 5, 5))
    model.layers[1].trainable = False
    model.layers[1].layers[1].trainable = True
    model.layers[0].bias.trainable = False
    save_model(model, tmp_path / "frozen.lamina")
    loaded = load_model(tmp_path / "frozen.lamina")
    flags = lambda m: [m.layers[0].trainable, m.layers[1].trainable,  # noqa: E731
                       *(layer.trainable for layer in m.layers[1].layers)]
    assert flags(loaded) == flags(model) == [True, False, False, True]
    assert [p.trainable for p in loaded.parameters()] == [True, False, False, False, True, True]
    assert serialize(loaded) == serialize(model)


def test_a_bad_trainable_flag_in_a_file_is_a_model_file_error(tmp_path):
    model = lamina.Sequential([L.Linear(2, 2)])
    model.layers[0].trainable = False
    save_model(model, tmp_path / "m.lamina")
    tensors, metadata = safetensors.load_safetensors(tmp_path / "m.lamina")
    architecture = json.loads(metadata["lamina.architecture"])
    architecture["config"]["layers"][0]["trainable"] = "no"
    metadata["lamina.architecture"] = json.dumps(architecture)
    safetensors.save_safetensors(tmp_path / "bad.lamina", tensors, metadata)
    with pytest.raises(ModelFileError, match=r"trainable expects True or False"):
        load_model(tmp_path / "bad.lamina")
