"""The sequence kernels against torch in float64 (rtol 1e-6): embedding, recurrent cells and
sequences (with lengths, as pack_padded_sequence), attention with masks, conv1d, 1-D pools."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from lamina import functional as F

TOL = dict(rtol=1e-6, atol=1e-10)


def tensors(*arrays):
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def assert_grads(ours, theirs, label):
    for i, (g, t) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(g, t.grad.numpy(), **TOL, err_msg=f"{label}: gradient {i}")


def test_embedding(rng):
    ids, weight = rng.integers(0, 6, (4, 7)), rng.standard_normal((6, 3))
    out, cache = F.embedding_forward(ids, weight, padding_idx=1)
    (w,) = tensors(weight)
    expected = TF.embedding(torch.tensor(ids), w, padding_idx=1)
    dout = rng.standard_normal(out.shape)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, expected.detach().numpy(), **TOL)
    assert_grads([F.embedding_backward(dout, cache)], [w], "embedding")


MODULES = {"rnn_tanh": lambda f, h: torch.nn.RNN(f, h, batch_first=True, bidirectional=True),
           "rnn_relu": lambda f, h: torch.nn.RNN(f, h, nonlinearity="relu", batch_first=True,
                                                 bidirectional=True),
           "lstm": lambda f, h: torch.nn.LSTM(f, h, batch_first=True, bidirectional=True),
           "gru": lambda f, h: torch.nn.GRU(f, h, batch_first=True, bidirectional=True)}


@pytest.mark.parametrize("mode", list(MODULES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
def test_recurrent_sequence(rng, mode, reverse, ragged):
    n, steps, features, size = 3, 5, 4, 6
    module = MODULES[mode](features, size).double()
    suffix = "_reverse" if reverse else ""
    names = [f"{k}_l0{suffix}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    weights = [getattr(module, name).detach().numpy() for name in names]
    x, h0, c0 = (rng.standard_normal(s) for s in [(n, steps, features), (n, size), (n, size)])
    lengths = np.array([5, 2, 3]) if ragged else None
    lstm = mode == "lstm"
    out, final, cache = F.recurrent_forward(x, (h0, c0) if lstm else h0, *weights, mode=mode,
                                            lengths=lengths, reverse=reverse)
    xt, h0t, c0t = tensors(x, np.stack([h0, h0]), np.stack([c0, c0]))
    inputs = xt if lengths is None else torch.nn.utils.rnn.pack_padded_sequence(
        xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out_t, state_t = module(inputs, (h0t, c0t) if lstm else h0t)
    if lengths is not None:
        out_t = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=True,
                                                       total_length=steps)[0]
    d = int(reverse)
    out_t = out_t[..., d * size:(d + 1) * size]
    h_t = (state_t[0] if lstm else state_t)[d]
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(final[0], h_t.detach().numpy(), **TOL)
    dout, dh = rng.standard_normal(out.shape), rng.standard_normal((n, size))
    loss = (out_t * torch.tensor(dout)).sum() + (h_t * torch.tensor(dh)).sum()
    if lstm:
        dc = rng.standard_normal((n, size))
        loss = loss + (state_t[1][d] * torch.tensor(dc)).sum()
        np.testing.assert_allclose(final[1], state_t[1][d].detach().numpy(), **TOL)
    loss.backward()
    dx, dstate, *grads = F.recurrent_backward(dout, cache, (dh, dc) if lstm else dh)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(dstate[0], h0t.grad[d].numpy(), **TOL)
    if lstm:
        np.testing.assert_allclose(dstate[1], c0t.grad[d].numpy(), **TOL)
    assert_grads(grads, [getattr(module, name) for name in names], mode)


@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "gru"])
def test_cells(rng, mode):
    n, features, size = 4, 3, 5
    cell = {"rnn_tanh": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell,
            "gru": torch.nn.GRUCell}[mode](features, size).double()
    weights = [p.detach().numpy() for p in cell.parameters()]
    x, h, c = (rng.standard_normal(s) for s in [(n, features), (n, size), (n, size)])
    xt, ht, ct = tensors(x, h, c)
    if mode == "lstm":
        (h_new, c_new), cache = F.lstm_cell_forward(x, (h, c), *weights)
        h_t, c_t = cell(xt, (ht, ct))
        dh, dc = rng.standard_normal((n, size)), rng.standard_normal((n, size))
        ((h_t * torch.tensor(dh)).sum() + (c_t * torch.tensor(dc)).sum()).backward()
        dx, (dh0, dc0), *grads = F.lstm_cell_backward((dh, dc), cache)
        np.testing.assert_allclose(c_new, c_t.detach().numpy(), **TOL)
        assert_grads([dx, dh0, dc0], [xt, ht, ct], mode)
    else:
        forward, backward = {"rnn_tanh": (F.rnn_cell_forward, F.rnn_cell_backward),
                             "gru": (F.gru_cell_forward, F.gru_cell_backward)}[mode]
        h_new, cache = forward(x, h, *weights)
        h_t = cell(xt, ht)
        dh = rng.standard_normal((n, size))
        h_t.backward(torch.tensor(dh))
        dx, dh0, *grads = backward(dh, cache)
        assert_grads([dx, dh0], [xt, ht], mode)
    np.testing.assert_allclose(h_new, h_t.detach().numpy(), **TOL)
    assert_grads(grads, list(cell.parameters()), mode)


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal", "bool+causal"])
def test_attention(rng, mask):
    q, k, v = (rng.standard_normal((2, 3, 5, s)) for s in (4, 4, 6))
    blocked = rng.random((5, 5)) < 0.4
    blocked[:, 0] = False
    options, torch_options = {}, {}
    if "bool" in mask:
        options["attn_mask"], torch_options["attn_mask"] = blocked, torch.tensor(~blocked)
    if mask == "float":
        additive = rng.standard_normal((5, 5))
        options["attn_mask"], torch_options["attn_mask"] = additive, torch.tensor(additive)
    if "causal" in mask:
        options["is_causal"] = True
        if "attn_mask" in torch_options:  # torch takes one or the other: combine them
            torch_options["attn_mask"] &= torch.ones(5, 5, dtype=torch.bool).tril()
        else:
            torch_options["is_causal"] = True
    out, cache = F.scaled_dot_product_attention_forward(q, k, v, **options)
    ts = tensors(q, k, v)
    expected = TF.scaled_dot_product_attention(*ts, **torch_options)
    dout = rng.standard_normal(out.shape)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, expected.detach().numpy(), **TOL)
    assert_grads(F.scaled_dot_product_attention_backward(dout, cache), ts, mask)


@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 2, 2)])
def test_conv1d(rng, stride, padding, dilation, groups):
    x, w, b = (rng.standard_normal(s) for s in [(2, 4, 11), (6, 4 // groups, 3), (6,)])
    out, cache = F.conv1d_forward(x, w, b, stride, padding, dilation, groups)
    ts = tensors(x, w, b)
    expected = TF.conv1d(*ts, stride=stride, padding=padding, dilation=dilation, groups=groups)
    dout = rng.standard_normal(out.shape)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, expected.detach().numpy(), **TOL)
    assert_grads(F.conv1d_backward(dout, cache), ts, "conv1d")


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (4, 1, 2)])
def test_pool1d(rng, kind, kernel, stride, padding):
    x = rng.standard_normal((2, 3, 10))
    forward, backward = {"max": (F.max_pool1d_forward, F.max_pool1d_backward),
                         "avg": (F.avg_pool1d_forward, F.avg_pool1d_backward)}[kind]
    out, cache = forward(x, kernel, stride, padding)
    ts = tensors(x)
    expected = getattr(TF, f"{kind}_pool1d")(ts[0], kernel, stride, padding)
    dout = rng.standard_normal(out.shape)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, expected.detach().numpy(), **TOL)
    assert_grads([backward(dout, cache)], ts, kind)
