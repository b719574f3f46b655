"""The sequence layers against torch.nn in float64 (rtol 1e-6): forward, input gradient and
every parameter gradient, parameters copied across by name."""

import numpy as np
import pytest
import torch
from torch import nn

import lamina
from lamina import layers as L
from lamina import optim

TOL = dict(rtol=1e-6, atol=1e-10)


def copy_by_name(layer, module, rng):
    """Random lamina parameters, copied into the torch module by PyTorch's names (lamina's
    out_proj_weight is torch's out_proj.weight, Linear weights are (in, out), LayerNorm's
    gamma/beta are weight/bias)."""
    layer.astype(np.float64)
    module.double()
    theirs = dict(module.named_parameters())
    pairs = []
    for name, p in layer.named_parameters():
        p.data = rng.uniform(-0.5, 0.5, p.shape)
        key = name.replace("out_proj_", "out_proj.").replace("gamma", "weight").replace(
            "beta", "bias")
        transposed = key.startswith("linear") and key.endswith("weight")
        with torch.no_grad():
            theirs[key].copy_(torch.tensor(p.data.T if transposed else p.data))
        pairs.append((name, p, theirs.pop(key), transposed))
    assert not theirs, f"torch parameters without a lamina twin: {list(theirs)}"
    return pairs


def assert_param_grads(pairs):
    for name, p, tp, transposed in pairs:
        np.testing.assert_allclose(p.grad.T if transposed else p.grad, tp.grad.numpy(), **TOL,
                                   err_msg=f"{name}.grad")


RECURRENT = {"RNN": (L.RNN, nn.RNN), "LSTM": (L.LSTM, nn.LSTM), "GRU": (L.GRU, nn.GRU)}


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (1, True), (2, True)])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
def test_recurrent_layers(rng, kind, num_layers, bidirectional, with_state, ragged):
    ours, theirs = RECURRENT[kind]
    n, steps, features, size = 3, 5, 4, 6
    layer = ours(features, size, num_layers, bidirectional=bidirectional, return_state=True)
    module = theirs(features, size, num_layers, bidirectional=bidirectional, batch_first=True)
    pairs = copy_by_name(layer, module, rng)
    count = num_layers * (2 if bidirectional else 1)
    lstm = kind == "LSTM"
    x = rng.standard_normal((n, steps, features))
    states = [rng.standard_normal((count, n, size)) for _ in range(2 if lstm else 1)]
    initial = (tuple(states) if lstm else states[0]) if with_state else None
    lengths = np.array([5, 2, 4]) if ragged else None
    out, state = layer.forward(x, initial_state=initial, lengths=lengths)
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    inputs = xt if lengths is None else nn.utils.rnn.pack_padded_sequence(
        xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out_t, state_t = module(inputs, (tuple(st) if lstm else st[0]) if with_state else None)
    if lengths is not None:
        out_t = nn.utils.rnn.pad_packed_sequence(out_t, batch_first=True, total_length=steps)[0]
    state_t = state_t if lstm else (state_t,)
    state = state if lstm else (state,)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    douts = [rng.standard_normal(out.shape)] + [rng.standard_normal(s.shape) for s in state]
    for ours_part, theirs_part in zip(state, state_t):
        np.testing.assert_allclose(ours_part, theirs_part.detach().numpy(), **TOL)
    loss = sum((t * torch.tensor(d)).sum() for t, d in zip([out_t, *state_t], douts))
    loss.backward()
    dx = layer.backward(douts[0], tuple(douts[1:]) if lstm else douts[1])
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL, err_msg="dx")
    if with_state:
        grads = layer.initial_state_grad if lstm else (layer.initial_state_grad,)
        for g, t in zip(grads, st):
            np.testing.assert_allclose(g, t.grad.numpy(), **TOL, err_msg="initial state")
    assert_param_grads(pairs)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_output_is_keras_reading(rng, bidirectional):
    """return_sequences=False: per direction its final output, concatenated (torch's h_n)."""
    layer = L.GRU(3, 4, 2, bidirectional=bidirectional, return_sequences=False)
    module = nn.GRU(3, 4, 2, bidirectional=bidirectional, batch_first=True)
    pairs = copy_by_name(layer, module, rng)
    x, lengths = rng.standard_normal((3, 6, 3)), np.array([6, 1, 3])
    out = layer.forward(x, lengths=lengths)
    xt = torch.tensor(x, requires_grad=True)
    _, h_n = module(nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                      enforce_sorted=False))
    last = torch.cat(list(h_n[-(2 if bidirectional else 1):]), dim=1)
    np.testing.assert_allclose(out, last.detach().numpy(), **TOL)
    dout = rng.standard_normal(out.shape)
    last.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), **TOL)
    assert_param_grads(pairs)


@pytest.mark.parametrize("masks", ["none", "causal", "attn_mask", "padding", "float+padding",
                                   "per-head"])
def test_multi_head_attention(rng, masks):
    n, length, e, heads = 2, 5, 8, 2
    layer, module = L.MultiHeadAttention(e, heads), nn.MultiheadAttention(e, heads,
                                                                          batch_first=True)
    pairs = copy_by_name(layer, module, rng)
    q, k, v = (rng.standard_normal((n, s, e)) for s in (length, 6, 6))
    blocked = rng.random((length, 6)) < 0.3
    blocked[:, 0] = False
    padding = np.zeros((n, 6), bool)
    padding[1, 4:] = True
    options, torch_options = {}, {}
    if masks == "causal":
        q, k, v = (rng.standard_normal((n, length, e)) for _ in range(3))
        options["is_causal"] = True
        torch_options.update(attn_mask=torch.ones(length, length, dtype=torch.bool).triu(1),
                             is_causal=True)
    if masks == "attn_mask":
        options["attn_mask"] = torch_options["attn_mask"] = blocked
    if "padding" in masks:
        options["key_padding_mask"] = torch_options["key_padding_mask"] = padding
    if masks == "float+padding":
        additive = rng.standard_normal((length, 6))
        options["attn_mask"] = torch_options["attn_mask"] = additive
        options["key_padding_mask"] = torch_options["key_padding_mask"] = padding.astype(float) * -1e9
    if masks == "per-head":
        per_head = rng.random((n * heads, length, 6)) < 0.3
        per_head[..., 0] = False
        options["attn_mask"] = torch_options["attn_mask"] = per_head
    torch_options = {key: torch.tensor(value) if isinstance(value, np.ndarray) else value
                     for key, value in torch_options.items()}
    out, weights = layer.forward(q, k, v, need_weights=True, **options)
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out_t, weights_t = module(*ts, **torch_options)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(weights, weights_t.detach().numpy(), **TOL)
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.tensor(dout))
    for g, t in zip(layer.backward(dout), ts):
        np.testing.assert_allclose(g, t.grad.numpy(), **TOL)
    assert_param_grads(pairs)


def test_self_attention_in_a_sequential(rng):
    layer, module = L.MultiHeadAttention(6, 3), nn.MultiheadAttention(6, 3, batch_first=True)
    pairs = copy_by_name(layer, module, rng)
    model = lamina.Sequential([layer])
    x = rng.standard_normal((2, 4, 6))
    out = model.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    out_t = module(xt, xt, xt)[0]
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(model.backward(dout), xt.grad.numpy(), **TOL)
    assert_param_grads(pairs)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer(rng, norm_first, activation):
    layer = L.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation,
                                      norm_first=norm_first)
    module = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation,
                                        norm_first=norm_first, batch_first=True)
    pairs = copy_by_name(layer, module, rng)
    x = rng.standard_normal((3, 5, 8))
    padding = np.zeros((3, 5), bool)
    padding[2, 3:] = True
    out = layer.forward(x, src_key_padding_mask=padding)
    xt = torch.tensor(x, requires_grad=True)
    out_t = module(xt, src_key_padding_mask=torch.tensor(padding))
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), **TOL)
    assert_param_grads(pairs)


def test_embedding_and_conv1d(rng):
    embedding, conv = L.Embedding(7, 4, padding_idx=0), L.Conv1D(4, 5, 3, padding=1, stride=2)
    t_embedding, t_conv = nn.Embedding(7, 4, padding_idx=0), nn.Conv1d(4, 5, 3, padding=1, stride=2)
    pairs = copy_by_name(embedding, t_embedding, rng) + copy_by_name(conv, t_conv, rng)
    ids = rng.integers(0, 7, (3, 9))
    out = conv.forward(embedding.forward(ids).transpose(0, 2, 1))
    out_t = t_conv(t_embedding(torch.tensor(ids)).transpose(1, 2))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.tensor(dout))
    embedding.backward(conv.backward(dout).transpose(0, 2, 1))
    assert_param_grads(pairs)


def test_bidirectional_lstm_classifier_trains_as_torch(rng):
    """5 Adam steps of Embedding -> 2-layer bidirectional LSTM -> Linear, cross-entropy."""
    lamina.seed(0)
    model = lamina.Sequential([L.Embedding(11, 6), L.LSTM(6, 8, 2, bidirectional=True,
                                                          return_sequences=False),
                               L.Linear(16, 3)])
    model.astype(np.float64)
    model.compile(loss="cross_entropy", optimizer=optim.Adam(lr=0.01))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(11, 6)
            self.lstm = nn.LSTM(6, 8, 2, bidirectional=True, batch_first=True)
            self.linear = nn.Linear(16, 3)

        def forward(self, ids):
            h_n = self.lstm(self.embedding(ids))[1][0]
            return self.linear(torch.cat([h_n[-2], h_n[-1]], dim=1))

    net = Net().double()
    theirs = dict(net.named_parameters())
    for (name, p), prefix in zip(model.named_parameters(), ["embedding."] + ["lstm."] * 16
                                 + ["linear."] * 2):
        key = prefix + name.split(".", 1)[1]
        with torch.no_grad():
            theirs[key].copy_(torch.tensor(p.data.T if key == "linear.weight" else p.data))
    adam = torch.optim.Adam(net.parameters(), lr=0.01)
    ids, labels = rng.integers(0, 11, (8, 7)), rng.integers(0, 3, 8)
    for _ in range(5):
        model.train_step(ids, labels)
        adam.zero_grad()
        nn.functional.cross_entropy(net(torch.tensor(ids)), torch.tensor(labels)).backward()
        adam.step()
    for (name, p), prefix in zip(model.named_parameters(), ["embedding."] + ["lstm."] * 16
                                 + ["linear."] * 2):
        key = prefix + name.split(".", 1)[1]
        expected = theirs[key].detach().numpy()
        np.testing.assert_allclose(p.data.T if key == "linear.weight" else p.data, expected,
                                   rtol=1e-6, atol=1e-9, err_msg=key)


def test_cross_entropy_over_positions_with_ignore_index(rng):
    logits, labels = rng.standard_normal((3, 5, 4)), rng.integers(0, 5, (3, 4))
    labels[1, 2:] = -100
    loss, grad = lamina.losses.CrossEntropy()(logits, labels)
    lt = torch.tensor(logits, requires_grad=True)
    expected = nn.functional.cross_entropy(lt, torch.tensor(labels))
    expected.backward()
    np.testing.assert_allclose(loss, expected.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, lt.grad.numpy(), **TOL)
