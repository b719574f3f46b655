"""Cross-attention in a graph model against torch.nn.MultiheadAttention(batch_first=True):
a query sequence (N, L, E) attends over a memory (N, S, E), L != S, then a Linear head."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers as L
from lamina import optim
from lamina.errors import ShapeError
from lamina.gradcheck import check_kernel

N, LQ, S, E, HEADS, OUT = 3, 5, 7, 6, 3, 4


def build_pair(seed=0):
    """The lamina graph model and its torch twin with the same float64 weights."""
    query = lamina.Input((LQ, E), name="query")
    memory = lamina.Input((S, E), name="memory")
    attention = L.MultiHeadAttention(E, HEADS, name="attention")
    attended = attention(query, memory, memory)
    head = L.Linear(LQ * E, OUT, name="head")
    model = lamina.Model([query, memory], head(L.Flatten()(attended)))
    model.astype(np.float64)

    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(E, HEADS, batch_first=True).double()
    linear = torch.nn.Linear(LQ * E, OUT).double()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name in attention.param_names:
            value = rng.standard_normal(getattr(attention, name).data.shape) * 0.5
            getattr(attention, name).data[...] = value
            dict(mha.named_parameters())[name.replace("out_proj_", "out_proj.")].copy_(
                torch.from_numpy(value))
        head.weight.data[...] = rng.standard_normal(head.weight.data.shape) * 0.3
        head.bias.data[...] = rng.standard_normal(head.bias.data.shape) * 0.3
        linear.weight.copy_(torch.from_numpy(head.weight.data.T))
        linear.bias.copy_(torch.from_numpy(head.bias.data))

    def torch_model(q, m):
        return linear(mha(q, m, m, need_weights=False)[0].flatten(1))

    return model, attention, head, mha, linear, torch_model


def batch(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, LQ, E)), rng.standard_normal((N, S, E))


def test_forward_and_every_gradient_equal_torch():
    model, attention, head, mha, linear, torch_model = build_pair()
    q, m = batch()
    out = model.forward(q, m)
    assert out.shape == (N, OUT) and out.dtype == np.float64
    dout = np.random.default_rng(2).standard_normal(out.shape)
    dq, dm = model.backward(dout)
    tq, tm = (torch.tensor(a, requires_grad=True) for a in (q, m))
    theirs = torch_model(tq, tm)
    theirs.backward(torch.from_numpy(dout))
    tol = dict(rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(out, theirs.detach().numpy(), **tol)
    np.testing.assert_allclose(dq, tq.grad.numpy(), **tol)
    np.testing.assert_allclose(dm, tm.grad.numpy(), **tol)
    torch_params = dict(mha.named_parameters())
    for name in attention.param_names:
        np.testing.assert_allclose(getattr(attention, name).grad,
                                   torch_params[name.replace("out_proj_", "out_proj.")].grad,
                                   **tol, err_msg=name)
    np.testing.assert_allclose(head.weight.grad, linear.weight.grad.numpy().T, **tol)
    np.testing.assert_allclose(head.bias.grad, linear.bias.grad.numpy(), **tol)


def test_five_adam_steps_equal_torch():
    model, attention, head, mha, linear, torch_model = build_pair()
    q, m = batch()
    y = np.random.default_rng(3).standard_normal((N, OUT))
    model.compile(loss="mse", optimizer=optim.Adam(lr=0.01))
    params = list(mha.parameters()) + list(linear.parameters())
    adam = torch.optim.Adam(params, lr=0.01)
    for _ in range(5):
        model.train_step([q, m], y)
        adam.zero_grad()
        loss = torch.nn.functional.mse_loss(torch_model(torch.from_numpy(q),
                                                        torch.from_numpy(m)), torch.from_numpy(y))
        loss.backward()
        adam.step()
    torch_params = dict(mha.named_parameters())
    for name in attention.param_names:
        np.testing.assert_allclose(getattr(attention, name).data,
                                   torch_params[name.replace("out_proj_", "out_proj.")].detach(),
                                   rtol=1e-6, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(head.weight.data, linear.weight.detach().numpy().T,
                               rtol=1e-6, atol=1e-10)


def test_save_load_round_trip_is_exact(tmp_path):
    model = build_pair()[0]
    q, m = batch()
    path = tmp_path / "cross.safetensors"
    lamina.io.save_model(model, path)
    loaded = lamina.io.load_model(path)
    np.testing.assert_array_equal(loaded.forward(q, m), model.forward(q, m))


@pytest.mark.parametrize("inputs", [1, 2, 3])
def test_gradcheck_of_one_two_and_three_inputs(inputs):
    """dq (and dk + dv when value is key, dk, dv apart) and every parameter's gradient."""
    layer = L.MultiHeadAttention(4, 2, is_causal=inputs == 1).astype(np.float64)
    rng = np.random.default_rng(4)
    shapes = [(2, 3, 4), (2, 5, 4), (2, 5, 4)][:inputs]
    if inputs == 1:
        shapes = [(2, 5, 4)]
    params = layer.parameters()

    def forward(*arrays):
        for p, value in zip(params, arrays[inputs:]):
            p.data = value
        return layer.forward(*arrays[:inputs]), None

    def backward(dout, cache):
        for p in params:
            p.zero_grad()
        grads = layer.backward(dout)
        grads = grads if isinstance(grads, tuple) else (grads,)
        assert len(grads) == inputs
        return grads + tuple(p.grad for p in params)

    arrays = [rng.standard_normal(s) for s in shapes]
    arrays += [rng.standard_normal(p.data.shape) * 0.5 for p in params]
    assert check_kernel(forward, backward, arrays)


def test_graph_shapes_are_checked_with_both_shapes_named():
    query, memory = lamina.Input((5, 6)), lamina.Input((7, 6))
    with pytest.raises(ShapeError, match=r"MultiHeadAttention.*query.*\(None, 5, 6\).*"
                                         r"key.*\(None, 7, 6\).*value.*\(None, 5, 6\)"):
        L.MultiHeadAttention(6, 2)(query, memory, query)
    with pytest.raises(ShapeError, match=r"MultiHeadAttention.*6 features on axis 2"):
        L.MultiHeadAttention(6, 2)(query, lamina.Input((7, 4)))
    assert L.MultiHeadAttention(6, 2)(query, memory).shape == (None, 5, 6)


def test_self_attention_in_a_sequential_equals_torch():
    layer = L.MultiHeadAttention(E, HEADS).astype(np.float64)
    net = lamina.Sequential([layer, L.Flatten()])
    mha = torch.nn.MultiheadAttention(E, HEADS, batch_first=True).double()
    with torch.no_grad():
        for name in layer.param_names:
            dict(mha.named_parameters())[name.replace("out_proj_", "out_proj.")].copy_(
                torch.from_numpy(getattr(layer, name).data))
    x = batch()[1]
    out = net.forward(x)
    dout = np.random.default_rng(5).standard_normal(out.shape)
    dx = net.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    theirs = mha(tx, tx, tx, need_weights=False)[0].flatten(1)
    theirs.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, theirs.detach().numpy(), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=1e-10)
