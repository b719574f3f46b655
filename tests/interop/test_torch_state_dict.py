"""lamina.interop.load_torch_state_dict / to_torch_state_dict against torch modules built the
way a torch user would build the same network (torch is a test-only reference).

Every case is a lamina model and its torch twin. Both directions are checked: torch's
state_dict() loaded into lamina gives torch's eval outputs (float64 to 1e-10, float32 to
1e-5) and keeps the model's dtype; lamina's export loads into torch with strict=True and gives
lamina's outputs; and after loading, two training steps (SGD with momentum, Adam) leave every
weight and running statistic equal to torch's, in float64.
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import lamina
from lamina import layers as L
from lamina import models, optim
from lamina.errors import ConfigError, DTypeError, ModelFileError, NotBuiltError, ShapeError
from lamina.interop import IncompatibleKeys, load_torch_state_dict, to_torch_state_dict

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}


# -- torch twins -------------------------------------------------------------------------------
class Chain(nn.Sequential):
    """nn.Sequential whose recurrent steps pass on their output sequence (not the state)."""

    def forward(self, x):
        for module in self:
            x = module(x)
            x = x[0] if isinstance(x, tuple) else x
        return x


class Residual(nn.Module):
    """y = block(x) + shortcut(x), named as lamina's Residual names its children."""

    def __init__(self, block, shortcut=None):
        super().__init__()
        self.block, self.shortcut = block, shortcut

    def forward(self, x):
        return self.block(x) + (x if self.shortcut is None else self.shortcut(x))


class SelfAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention on (x, x, x), returning the output alone, as lamina's layer."""

    def forward(self, x):
        return super().forward(x, x, x, need_weights=False)[0]


class Branches(nn.Module):
    """head(norm(left(x) + right(x))): the graph model's layers as attributes."""

    def __init__(self):
        super().__init__()
        self.left, self.right = nn.Linear(6, 4), nn.Linear(6, 4)
        self.norm, self.head = nn.LayerNorm(4), nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.norm(self.left(x) + self.right(x)))


def global_pool():
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())  # one index, as GlobalAvgPool2D


def conv_bn(cin, cout, kernel, stride=1, act=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout)]
    return layers + ([nn.ReLU()] if act else [])


def torch_resnet(cin, widths, classes):
    """resnet_small's torch twin: stem, one basic block per stage, pool, fc."""
    layers, channels = conv_bn(cin, widths[0], 3), widths[0]
    for stage, width in enumerate(widths):
        stride = 2 if stage else 1
        shortcut = (nn.Sequential(*conv_bn(channels, width, 1, stride, act=False))
                    if stride != 1 or channels != width else None)
        body = nn.Sequential(*conv_bn(channels, width, 3, stride), *conv_bn(width, width, 3,
                                                                             act=False))
        layers.append(nn.Sequential(Residual(body, shortcut), nn.ReLU()))
        channels = width
    return nn.Sequential(*layers, global_pool(), nn.Linear(channels, classes))


def graph_model():
    x = lamina.Input((6,), name="x")
    added = L.Add()([L.Linear(6, 4, name="left")(x), L.Linear(6, 4, name="right")(x)])
    return lamina.Model(x, L.Linear(4, 2, name="head")(L.LayerNorm(4, name="norm")(added)))


# name -> (lamina builder, torch builder, input shape, integer ids below this bound or None)
CASES = {
    "mlp": (lambda: lamina.Sequential([L.Linear(6, 8), L.ReLU(), L.Dropout(0.0),
                                       L.Linear(8, 8, bias=False), L.Tanh(), L.Dense(3)]),
            lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.0),
                                  nn.Linear(8, 8, bias=False), nn.Tanh(), nn.Linear(8, 3)),
            (5, 6), None),
    "cnn_bn": (lambda: lamina.Sequential([
                   L.Conv2D(2, 4, 3, padding=1, bias=False), L.BatchNorm2D(4), L.ReLU(),
                   L.MaxPool2D(2), L.Flatten(), L.Linear(64, 6, bias=False), L.BatchNorm1D(6),
                   L.Tanh(), L.Linear(6, 3)]),
               lambda: nn.Sequential(
                   nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                   nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 6, bias=False),
                   nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 3)),
               (4, 2, 8, 8), None),
    "conv_transpose_norms": (lambda: lamina.Sequential([
                   L.ConvTranspose2D(4, 6, 3, stride=2, groups=2, bias=False),
                   L.InstanceNorm2D(6, affine=True, track_running_stats=True), L.ReLU(),
                   L.DepthwiseConv2D(6, 3, padding=1, depth_multiplier=2), L.GroupNorm(3, 12),
                   L.SiLU(), L.GlobalAvgPool2D(), L.Linear(12, 3)]),
               lambda: nn.Sequential(
                   nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, bias=False),
                   nn.InstanceNorm2d(6, affine=True, track_running_stats=True), nn.ReLU(),
                   nn.Conv2d(6, 12, 3, padding=1, groups=6), nn.GroupNorm(3, 12), nn.SiLU(),
                   global_pool(), nn.Linear(12, 3)),
               (3, 4, 5, 5), None),
    "conv1d": (lambda: lamina.Sequential([
                   L.Conv1D(3, 4, 3, padding=1, bias=False), L.BatchNorm1D(4), L.ReLU(),
                   L.MaxPool1D(2), L.Flatten(), L.Linear(16, 2)]),
               lambda: nn.Sequential(
                   nn.Conv1d(3, 4, 3, padding=1, bias=False), nn.BatchNorm1d(4), nn.ReLU(),
                   nn.MaxPool1d(2), nn.Flatten(), nn.Linear(16, 2)),
               (4, 3, 8), None),
    "lenet5": (lambda: models.LeNet5(),
               lambda: nn.Sequential(
                   nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                   nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                   nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)),
               (2, 1, 28, 28), None),
    "resnet_small": (lambda: models.resnet_small(in_channels=1, num_classes=3, widths=(4, 8, 8)),
                     lambda: torch_resnet(1, (4, 8, 8), 3),
                     (3, 1, 12, 12), None),
    "lstm": (lambda: lamina.Sequential([L.LSTM(4, 6, num_layers=2, bidirectional=True),
                                        L.Flatten(), L.Linear(5 * 12, 2)]),
             lambda: Chain(nn.LSTM(4, 6, 2, batch_first=True, bidirectional=True), nn.Flatten(),
                           nn.Linear(5 * 12, 2)),
             (3, 5, 4), None),
    "embedding_gru": (lambda: lamina.Sequential([L.Embedding(12, 6, padding_idx=0),
                                                 L.GRU(6, 5, num_layers=2),
                                                 L.TimeDistributed(L.Linear(5, 3))]),
                      lambda: Chain(nn.Embedding(12, 6, padding_idx=0),
                                    nn.GRU(6, 5, 2, batch_first=True), nn.Linear(5, 3)),
                      (3, 7), 12),
    "transformer": (lambda: lamina.Sequential([
                        L.TransformerEncoderLayer(8, 2, 16, dropout=0.0),
                        L.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu",
                                                  norm_first=True),
                        L.Flatten(), L.Linear(4 * 8, 3)]),
                    lambda: nn.Sequential(
                        nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
                        nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu",
                                                   norm_first=True, batch_first=True),
                        nn.Flatten(), nn.Linear(4 * 8, 3)),
                    (3, 4, 8), None),
    "attention_without_bias": (
                    lambda: lamina.Sequential([L.MultiHeadAttention(8, 2, bias=False), L.Tanh(),
                                               L.MultiHeadAttention(8, 4)]),
                    lambda: nn.Sequential(SelfAttention(8, 2, bias=False, batch_first=True),
                                          nn.Tanh(), SelfAttention(8, 4, batch_first=True)),
                    (2, 5, 8), None),
    "graph": (graph_model, Branches, (5, 6), None),
}


# -- helpers -----------------------------------------------------------------------------------
def build(case, dtype):
    """(lamina model in `dtype`, built, eval mode; torch twin in `dtype`, eval mode)."""
    make_lamina, make_torch, shape, _ = CASES[case]
    model = make_lamina()
    if not model.built:
        model.build((None,) + shape[1:])
    module = make_torch().to(TORCH_DTYPE[dtype])
    return model.astype(dtype).eval(), module.eval()


def randomize_torch(module, seed=0):
    """Every float entry of the state dict random (variances positive), so nothing is left
    at an initial value that would hide a missed copy."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in module.state_dict().items():
            if value.is_floating_point():
                fresh = torch.rand(value.shape, generator=generator, dtype=value.dtype)
                value.copy_(fresh + 0.5 if name.endswith("running_var") else fresh - 0.5)
    return module


def randomize_lamina(model, rng):
    for _, p in model.named_parameters():
        p.data = rng.uniform(-0.5, 0.5, p.shape).astype(p.dtype)
    for name, value in model.buffers().items():
        low = 0.5 if name.endswith("running_var") else -0.5
        model.set_buffer(name, rng.uniform(low, low + 1, value.shape).astype(value.dtype))


def inputs(case, dtype, rng):
    shape, ids = CASES[case][2], CASES[case][3]
    if ids is not None:
        return rng.integers(0, ids, shape)
    return rng.standard_normal(shape).astype(dtype)


def torch_forward(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def to_torch(state):
    return {key: torch.from_numpy(value) for key, value in state.items()}


def assert_states_equal(case, ours, theirs, tol):
    """ours: to_torch_state_dict's; theirs: torch's state_dict() (same keys, same order)."""
    assert list(ours) == list(theirs), f"{case}: keys differ"
    for key, value in ours.items():
        if key.endswith("num_batches_tracked"):
            continue  # lamina keeps no count (torch reads it only with momentum=None)
        np.testing.assert_allclose(value, theirs[key].numpy(), rtol=tol, atol=tol,
                                   err_msg=f"{case}: {key} (lamina vs torch)")


# -- torch -> lamina ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(CASES))
def test_loading_torch_weights_gives_torch_outputs(case, dtype, rng):
    model, module = build(case, dtype)
    randomize_torch(module)
    result = load_torch_state_dict(model, module.state_dict())
    assert result == IncompatibleKeys([], [])
    assert all(p.dtype == dtype for p in model.parameters())
    assert all(value.dtype == dtype for value in model.buffers().values())
    x = inputs(case, dtype, rng)
    out = model.forward(x)
    assert out.dtype == dtype
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, torch_forward(module, x), rtol=tol, atol=tol,
                               err_msg=f"{case}: lamina (loaded) vs torch")


def test_float32_torch_weights_into_a_float64_model_stay_float64(rng):
    model, _ = build("cnn_bn", np.float64)
    _, module = build("cnn_bn", np.float32)
    load_torch_state_dict(model, randomize_torch(module).state_dict())
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert {b.dtype for b in model.buffers().values()} == {np.dtype(np.float64)}
    x = inputs("cnn_bn", np.float32, rng)
    np.testing.assert_allclose(model.forward(x.astype(np.float64)), torch_forward(module, x),
                               rtol=1e-5, atol=1e-5)


# -- lamina -> torch ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(CASES))
def test_exported_weights_load_into_torch_strictly(case, dtype, rng):
    model, module = build(case, dtype)
    randomize_lamina(model, rng)
    state = to_torch_state_dict(model)
    assert list(state) == list(module.state_dict()), f"{case}: torch's keys in torch's order"
    for key, value in state.items():
        assert value.flags.c_contiguous and value.dtype == (
            np.int64 if key.endswith("num_batches_tracked") else dtype), key
    result = module.load_state_dict(to_torch(state), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = inputs(case, dtype, rng)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(model.forward(x), torch_forward(module, x), rtol=tol, atol=tol,
                               err_msg=f"{case}: lamina vs torch (exported)")


def test_export_is_a_copy_and_round_trips():
    model, _ = build("cnn_bn", np.float64)
    randomize_lamina(model, np.random.default_rng(3))
    before = model.state_dict()
    state = to_torch_state_dict(model)
    for value in state.values():
        value[...] = 7  # writing into the export leaves the model alone
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    fresh, _ = build("cnn_bn", np.float64)
    load_torch_state_dict(fresh, to_torch_state_dict(model))
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


# -- training after loading --------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": (lambda: optim.SGD(lr=0.05, momentum=0.9),
            lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9)),
    "adam": (lambda: optim.Adam(lr=0.01), lambda params: torch.optim.Adam(params, lr=0.01)),
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("case", list(CASES))
def test_training_steps_after_loading_equal_torchs(case, optimizer, rng):
    model, module = build(case, np.float64)
    randomize_torch(module)
    load_torch_state_dict(model, module.state_dict())
    x = inputs(case, np.float64, rng)
    target = rng.standard_normal(model.forward(x).shape)
    make_ours, make_theirs = OPTIMIZERS[optimizer]
    model.compile(loss="mse", optimizer=make_ours())
    theirs = make_theirs(module.parameters())
    model.train()
    module.train()
    for _ in range(2):
        loss, _ = model.train_step(x, target)
        theirs.zero_grad()
        torch_loss = nn.functional.mse_loss(module(torch.from_numpy(x)), torch.from_numpy(target))
        torch_loss.backward()
        theirs.step()
        np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-10)
    assert_states_equal(case, to_torch_state_dict(model), module.state_dict(), 1e-10)


# -- keys, shapes and sources ------------------------------------------------------------------
def mlp_and_state():
    model, module = build("mlp", np.float64)
    return model, randomize_torch(module).state_dict()


def test_strict_refuses_missing_and_unexpected_keys_and_loads_nothing():
    model, state = mlp_and_state()
    before = model.state_dict()
    del state["3.weight"]
    state["9.weight"] = torch.zeros(2)
    with pytest.raises(ConfigError) as raised:
        load_torch_state_dict(model, state)
    message = str(raised.value)
    assert "Missing: ['3.weight']" in message and "unexpected: ['9.weight']" in message
    assert "Sequential" in message and "strict=False" in message
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_non_strict_loads_what_matches_and_returns_the_keys():
    model, state = mlp_and_state()
    before = model.state_dict()
    del state["3.weight"]
    state["9.weight"] = torch.zeros(2)
    result = load_torch_state_dict(model, state, strict=False)
    assert result == IncompatibleKeys(missing_keys=["3.weight"], unexpected_keys=["9.weight"])
    assert result.missing_keys == ["3.weight"] and result.unexpected_keys == ["9.weight"]
    np.testing.assert_array_equal(model.state_dict()["3.weight"], before["3.weight"])
    np.testing.assert_array_equal(model.state_dict()["0.weight"], state["0.weight"].numpy().T)
    np.testing.assert_array_equal(model.state_dict()["5.bias"], state["5.bias"].numpy())


def test_num_batches_tracked_is_optional():
    """As torch takes a plain dict of arrays (no version metadata) without it."""
    model, module = build("cnn_bn", np.float64)
    state = dict(randomize_torch(module).state_dict())
    del state["1.num_batches_tracked"]
    assert load_torch_state_dict(model, state) == IncompatibleKeys([], [])
    assert module.load_state_dict(state, strict=True) == ([], [])


@pytest.mark.parametrize("strict", [True, False])
def test_a_shape_mismatch_names_key_expected_and_received_and_loads_nothing(strict):
    model, state = mlp_and_state()
    before = model.state_dict()
    state["0.weight"] = torch.zeros(8, 7)  # torch layout (out, in): in_features 7, not 6
    with pytest.raises(ShapeError) as raised:
        load_torch_state_dict(model, state, strict=strict)
    message = str(raised.value)
    assert "0.weight: expected (8, 6), received (8, 7)" in message
    assert "nothing was loaded" in message
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_reads_a_safetensors_file_written_by_torch(tmp_path, rng):
    model, module = build("resnet_small", np.float32)
    randomize_torch(module)
    path = tmp_path / "resnet.safetensors"
    pytest.importorskip("safetensors.torch").save_file(module.state_dict(), str(path))
    for given in (path, str(path)):
        assert load_torch_state_dict(model, given) == IncompatibleKeys([], [])
    x = inputs("resnet_small", np.float32, rng)
    np.testing.assert_allclose(model.forward(x), torch_forward(module, x), rtol=1e-5, atol=1e-5)


def test_refuses_pickles_other_files_and_other_objects(tmp_path):
    model, _ = build("mlp", np.float64)
    with pytest.raises(ConfigError, match="never pickles.*save_file"):
        load_torch_state_dict(model, tmp_path / "model.pt")
    text = tmp_path / "weights.safetensors"
    text.write_text("not a safetensors file")
    with pytest.raises(ModelFileError, match="weights.safetensors"):
        load_torch_state_dict(model, text)
    with pytest.raises(ConfigError, match="expects a state dict.*Received: list"):
        load_torch_state_dict(model, [np.zeros(3)])


def test_values_through_numpy_method_or_refused_by_dtype():
    class Wrapped:  # a tensor-like object with .numpy() but no __array__
        def __init__(self, array):
            self.array = array

        def numpy(self):
            return self.array

    model, state = mlp_and_state()
    wrapped = {key: Wrapped(value.numpy()) for key, value in state.items()}
    load_torch_state_dict(model, wrapped)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], state["0.weight"].numpy().T)
    wrapped["0.bias"] = Wrapped(np.array(["a"] * 8))
    with pytest.raises(DTypeError, match="0.bias must hold real numbers"):
        load_torch_state_dict(model, wrapped)


def test_layers_torch_has_no_module_for_keep_lamina_names():
    separable = lamina.Sequential([L.SeparableConv2D(2, 4, 3)])
    positional = lamina.Sequential([L.Dropout(0.1), L.PositionalEmbedding(3, 4)])
    for model, keys in ((separable, ["0.depthwise_weight", "0.pointwise_weight", "0.bias"]),
                        (positional, ["1.weight"])):
        state = to_torch_state_dict(model)
        assert list(state) == keys == list(model.state_dict())
        assert load_torch_state_dict(model, state) == IncompatibleKeys([], [])


def test_an_unbuilt_model_or_a_torch_module_is_refused():
    model = lamina.Sequential([L.Linear(None, 3)])
    for call in (lambda: load_torch_state_dict(model, {}), lambda: to_torch_state_dict(model)):
        with pytest.raises(NotBuiltError, match="torch_state_dict"):
            call()
    module = nn.Linear(2, 3)
    with pytest.raises(ConfigError, match="expects a lamina model.*Received: Linear"):
        load_torch_state_dict(module, module.state_dict())


def test_no_torch_import_at_run_time():
    code = (
        "import sys, numpy as np, lamina\n"
        "from lamina import layers as L\n"
        "from lamina.interop import load_torch_state_dict, to_torch_state_dict\n"
        "m = lamina.Sequential([L.Linear(2, 3), L.BatchNorm1D(3)])\n"
        "load_torch_state_dict(m, to_torch_state_dict(m))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
