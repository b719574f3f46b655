"""Merge layers called on several inputs (the graph form): forward(*arrays) -> one array,
backward(dout) -> one gradient per input. Gradients checked numerically and against torch;
the branch-container forms (Add([branch, ...])) are tested in test_merge.py."""

import numpy as np
import pytest
import torch

from lamina import layers as L
from lamina.errors import ShapeError
from lamina.gradcheck import check_kernel, distinct_values


def torch_add(*xs):
    return sum(xs[1:], xs[0])


def torch_multiply(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out


CASES = [  # (make, torch function, input shapes)
    (L.Add, torch_add, [(2, 3, 1, 5), (2, 3, 4, 5), (2, 1, 4, 1)]),
    (L.Add, torch_add, [(3, 7), (3, 7)]),
    (L.Subtract, lambda a, b: a - b, [(2, 1, 5), (2, 4, 5)]),
    (L.Subtract, lambda a, b: a - b, [(1, 6), (1, 6)]),
    (L.Multiply, torch_multiply, [(2, 3, 4, 5), (2, 3, 1, 1), (2, 3, 4, 5)]),
    (L.Multiply, torch_multiply, [(4, 1, 3), (4, 2, 3)]),
    (L.Average, lambda *xs: torch_add(*xs) / len(xs), [(2, 3, 5), (2, 3, 5), (2, 1, 5)]),
    (L.Average, lambda *xs: torch_add(*xs) / len(xs), [(3, 2, 2, 1), (3, 2, 2, 1)]),
    (lambda: L.Concatenate(axis=1), lambda *xs: torch.cat(xs, 1),
     [(2, 1, 3, 3), (2, 4, 3, 3), (2, 2, 3, 3)]),
    (lambda: L.Concatenate(axis=-1), lambda *xs: torch.cat(xs, -1), [(3, 2, 1), (3, 2, 4)]),
    (lambda: L.Concatenate(axis=2), lambda *xs: torch.cat(xs, 2), [(2, 3, 5, 2), (2, 3, 1, 2)]),
]
IDS = ["add-broadcast-3", "add-2d", "subtract-broadcast", "subtract-batch-1", "multiply-gate",
       "multiply-broadcast", "average-3", "average-2", "concat-channels-3", "concat-last",
       "concat-height"]


def inputs_for(shapes, seed=0):
    rng = np.random.default_rng(seed)
    # distinct values well away from 0: Multiply's gradient is a product of the others
    return [distinct_values(shape, rng, low=0.2, high=1.5) * rng.choice([-1, 1], shape)
            for shape in shapes]


@pytest.mark.parametrize("make, reference, shapes", CASES, ids=IDS)
def test_merge_gradcheck(make, reference, shapes):
    layer = make()

    def forward(*arrays):
        return layer.forward(*arrays), None

    def backward(dout, cache):
        grads = layer.backward(dout)
        assert isinstance(grads, tuple) and len(grads) == len(shapes)
        return grads

    check_kernel(forward, backward, inputs_for(shapes))


@pytest.mark.parametrize("make, reference, shapes", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_merge_matches_torch(make, reference, shapes, dtype):
    layer = make()
    arrays = [a.astype(dtype) for a in inputs_for(shapes, seed=1)]
    kept = [a.copy() for a in arrays]
    out = layer.forward(*arrays)
    dout = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    grads = layer.backward(dout)
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = reference(*tensors)
    expected.backward(torch.from_numpy(dout))
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    assert out.dtype == dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out, expected.detach().numpy(), **tol)
    assert tuple(layer.output_shape(*shapes)) == out.shape
    for i, (grad, tensor) in enumerate(zip(grads, tensors)):
        assert grad.shape == shapes[i] and grad.dtype == dtype, f"gradient of input {i}"
        np.testing.assert_allclose(grad, tensor.grad.numpy(), **tol,
                                   err_msg=f"gradient of input {i}")
    for array, original in zip(arrays, kept):  # inputs are never written to
        np.testing.assert_array_equal(array, original)


def test_eager_call_on_several_arrays(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    np.testing.assert_array_equal(L.Concatenate(axis=1)(a, b), np.concatenate([a, b], 1))
    np.testing.assert_array_equal(L.Subtract()(a, b), a - b)


def test_eager_call_on_a_list_of_arrays_as_on_a_list_of_tensors(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    np.testing.assert_array_equal(L.Concatenate(axis=1)([a, b]), np.concatenate([a, b], 1))
    np.testing.assert_array_equal(L.Add()([a, b]), a + b)


@pytest.mark.parametrize("make, shapes, match", [
    (L.Add, [(2, 3), (2, 4)], "add"),
    (L.Subtract, [(2, 3), (2, 3), (2, 3)], "subtract"),
    (L.Multiply, [(2, 3)], "multiply"),
    (lambda: L.Concatenate(axis=1), [(2, 3, 4), (2, 3, 5)], "concatenate"),
    (lambda: L.Concatenate(axis=0), [(2, 3), (2, 3)], "concatenate"),
], ids=["add-sizes", "subtract-three", "multiply-one", "concat-other-axis", "concat-batch"])
def test_shapes_that_do_not_merge_are_errors_naming_the_layer(make, shapes, match):
    with pytest.raises(ShapeError, match=match) as error:
        make().forward(*[np.ones(shape) for shape in shapes])
    message = str(error.value)
    assert any(str(shape) in message for shape in shapes), message
