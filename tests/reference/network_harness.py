"""Shared by the whole-network comparisons with torch (merge containers, the model zoo):
weight layout, parameter owners, and one forward/backward checked end to end."""

import numpy as np
import torch

from lamina import layers as L
from lamina.layers.container import Container

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def owners(layer):
    """{id(parameter): the leaf layer holding it}."""
    if isinstance(layer, Container):
        return {key: owner for child in layer.layers for key, owner in owners(child).items()}
    return {id(p): layer for p in layer.parameters()}


def torch_layout(owner, name, array):
    return array.T if isinstance(owner, L.Linear) and name.endswith("weight") else array


def check_network(case, layer, module, pairs, buffers, x_shape, dtype, rtol, atol, training, rng):
    """Forward x and backward a random dout through both; assert output, dx, every parameter
    gradient and every buffer. pairs: (name, lamina Parameter, torch Parameter, owner);
    buffers: the torch buffers in the order of layer.buffers(). In eval mode the running
    statistics are first set to random values on both sides."""
    names = list(layer.buffers())
    assert len(names) == len(buffers), f"{case}: {len(names)} lamina vs {len(buffers)} torch buffers"
    if not training:
        for name, theirs in zip(names, buffers):
            value = layer.buffers()[name]
            value = (rng.uniform(0.5, 2.0, value.shape) if name.endswith("var")
                     else rng.standard_normal(value.shape))
            layer.set_buffer(name, value.astype(dtype))
            theirs.copy_(torch.from_numpy(layer.buffers()[name]))
    layer.train(training)
    module.train(training)

    x = rng.standard_normal(x_shape).astype(dtype)
    out = layer.forward(x.copy())
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = layer.backward(dout.copy())
    x_torch = torch.tensor(x, requires_grad=True)
    out_torch = module(x_torch)
    out_torch.backward(torch.from_numpy(dout))

    tol = dict(rtol=rtol, atol=atol)
    assert out.shape == tuple(layer.output_shape(x_shape)), f"{case}: output_shape()"
    assert out.dtype == dx.dtype == dtype, f"{case}: out/dx dtype {out.dtype}/{dx.dtype}"
    np.testing.assert_allclose(out, out_torch.detach().numpy(), **tol, err_msg=f"{case}: output")
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), **tol, err_msg=f"{case}: input gradient")
    for name, p, tp, owner in pairs:
        assert p.grad.dtype == dtype, f"{case}: {name}.grad is {p.grad.dtype}"
        np.testing.assert_allclose(torch_layout(owner, name, p.grad), tp.grad.numpy(), **tol,
                                   err_msg=f"{case}: {name}.grad (lamina vs torch)")
    for (name, value), theirs in zip(layer.buffers().items(), buffers):
        assert value.dtype == dtype, f"{case}: buffer {name} is {value.dtype}"
        np.testing.assert_allclose(value, theirs.numpy(), **tol,
                                   err_msg=f"{case}: buffer {name} (lamina vs torch)")
    return out, dx
