"""Optimizers against torch.optim: ten steps on awkward float64 shapes, rtol 1e-6.

Both sides see the same pseudo-random gradients each step; torch runs its single-tensor
(foreach=False) path, the one lamina follows operation by operation.
"""

import numpy as np
import pytest
import torch

from lamina import optim
from lamina.parameter import Parameter

SHAPES = [(3, 5), (7,), (2, 1, 3)]
STEPS = 10

CASES = [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.5)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, weight_decay=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.7, dampening=0.2, weight_decay=0.3)),
    (optim.RMSProp, torch.optim.RMSprop, dict()),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, rho=0.9, eps=1e-6)),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, momentum=0.9)),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, centered=True)),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, weight_decay=0.1)),
    (optim.RMSProp, torch.optim.RMSprop,
     dict(lr=0.01, rho=0.95, momentum=0.5, centered=True, weight_decay=0.1)),
    (optim.Adam, torch.optim.Adam, dict()),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.3, 0.5), amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, torch.optim.AdamW, dict()),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.0)),
    (optim.AdaGrad, torch.optim.Adagrad, dict()),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.05)),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, initial_accumulator_value=0.5)),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, weight_decay=0.1, eps=1e-6)),
    (optim.AdaGrad, torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
]


def torch_kwargs(kwargs):
    renamed = {"rho": "alpha"}
    return {renamed.get(key, key): value for key, value in kwargs.items()}


def case_id(case):
    cls, _, kwargs = case
    return cls.__name__ + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def run_both(cls, torch_cls, kwargs, seed, dtype=np.float64, schedule=None, skip=None):
    """STEPS updates on both sides; returns lamina's and torch's final parameters.

    schedule(step) -> lr changes the learning rate before a step; skip(step, index) leaves a
    parameter's gradient at None for that step.
    """
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    ours = [Parameter(array.copy()) for array in initial]
    theirs = [torch.tensor(array.copy(), requires_grad=True) for array in initial]
    opt = cls(**kwargs)
    reference = torch_cls(theirs, foreach=False, **torch_kwargs(kwargs))
    for step in range(STEPS):
        if schedule is not None:
            opt.lr = schedule(step)
            for group in reference.param_groups:
                group["lr"] = schedule(step)
        for index, (param, tensor) in enumerate(zip(ours, theirs)):
            grad = rng.standard_normal(param.shape).astype(dtype)
            if skip is not None and skip(step, index):
                param.grad, tensor.grad = None, None
            else:
                param.grad, tensor.grad = grad, torch.tensor(grad.copy())
        opt.step(ours)
        reference.step()
    return [p.data for p in ours], [t.detach().numpy() for t in theirs]


def assert_parameters_match(ours, theirs, rtol=1e-6, atol=1e-12):
    for index, (mine, reference) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=atol,
                                   err_msg=f"parameter {index}: lamina (actual) vs torch (desired)")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch(case):
    assert_parameters_match(*run_both(*case, seed=0))


@pytest.mark.parametrize("case", CASES[1::3], ids=case_id)
def test_matches_torch_with_lr_schedule_and_missing_grads(case):
    ours, theirs = run_both(*case, seed=7, schedule=lambda step: 0.05 / (1 + step),
                            skip=lambda step, index: (step + index) % 4 == 0)
    assert_parameters_match(ours, theirs)


@pytest.mark.parametrize("case", CASES[::4], ids=case_id)
def test_matches_torch_float32(case):
    ours, theirs = run_both(*case, seed=3, dtype=np.float32)
    assert all(array.dtype == np.float32 for array in ours)
    assert_parameters_match(ours, theirs, rtol=1e-5, atol=1e-6)
