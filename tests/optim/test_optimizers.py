"""Optimizer behaviour: which parameters move, dtype, state, validation, state_dict."""

import re

import numpy as np
import pytest

from lamina import optim
from lamina.errors import ConfigError, ShapeError
from lamina.parameter import Parameter

# one configuration per optimizer that touches every piece of state it can keep
CONFIGS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.1, momentum=0.8, dampening=0.3)),
    (optim.RMSProp, dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.AdaGrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CONFIGS)]


def make_parameters(rng, dtype=np.float64, shapes=((3, 4), (5,), (2, 1, 3))):
    return [Parameter(rng.standard_normal(shape).astype(dtype)) for shape in shapes]


def fill_gradients(parameters, rng, dtype=None):
    for param in parameters:
        param.grad = rng.standard_normal(param.shape).astype(dtype or param.dtype)


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_skips_parameters_without_grad_or_frozen(rng, cls, kwargs):
    moving, no_grad, frozen = make_parameters(rng)
    fill_gradients([moving, frozen], rng)
    frozen.trainable = False
    before = [p.data.copy() for p in (moving, no_grad, frozen)]
    opt = cls(**kwargs)
    opt.step([moving, no_grad, frozen])
    assert not np.array_equal(moving.data, before[0])
    np.testing.assert_array_equal(no_grad.data, before[1])
    np.testing.assert_array_equal(frozen.data, before[2])
    assert set(opt.state) == {moving}


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
def test_float32_stays_float32_in_place(rng, cls, kwargs, grad_dtype):
    parameters = make_parameters(rng, np.float32)
    arrays = [p.data for p in parameters]
    opt = cls(**kwargs)
    for _ in range(3):
        fill_gradients(parameters, rng, grad_dtype)
        opt.step(parameters)
    for param, array in zip(parameters, arrays):
        assert param.data is array and param.data.dtype == np.float32
        assert all(value.dtype == np.float32 for value in opt.state[param].values()
                   if isinstance(value, np.ndarray))


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_gradients_are_not_modified(rng, cls, kwargs):
    parameters = make_parameters(rng)
    opt = cls(**kwargs)
    for _ in range(2):
        fill_gradients(parameters, rng)
        grads = [p.grad.copy() for p in parameters]
        opt.step(parameters)
        for param, grad in zip(parameters, grads):
            np.testing.assert_array_equal(param.grad, grad)


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_state_is_per_parameter(rng, cls, kwargs):
    first, second = make_parameters(rng, shapes=((2, 3), (2, 3)))
    first_alone, second_alone = Parameter(first.data.copy()), Parameter(second.data.copy())
    together, opt_first, opt_second = cls(**kwargs), cls(**kwargs), cls(**kwargs)
    for step in range(4):
        fill_gradients([first, second], rng)
        if step % 2:
            second.grad = None
        first_alone.grad = first.grad
        second_alone.grad = second.grad
        together.step([first, second])
        opt_first.step([first_alone])
        opt_second.step([second_alone])
    # `first` moved four times and `second` twice, each exactly as with an optimizer of its own
    np.testing.assert_array_equal(first.data, first_alone.data)
    np.testing.assert_array_equal(second.data, second_alone.data)
    if "step" in together.state[first]:
        assert (together.state[first]["step"], together.state[second]["step"]) == (4, 2)
    assert set(together.state) == {first, second}


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_lr_is_a_plain_attribute(rng, cls, kwargs):
    parameters = make_parameters(rng)
    opt = cls(**kwargs)
    opt.lr = 0.0
    before = [p.data.copy() for p in parameters]
    fill_gradients(parameters, rng)
    opt.step(parameters)
    for param, data in zip(parameters, before):
        np.testing.assert_array_equal(param.data, data)


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_identically(rng, cls, kwargs):
    parameters = make_parameters(rng)
    opt = cls(**kwargs)
    for _ in range(3):
        fill_gradients(parameters, rng)
        opt.step(parameters)
    opt.lr *= 0.5
    saved = opt.state_dict()
    assert set(saved) == {"lr", "iterations", "state"} and saved["lr"] == opt.lr
    assert set(saved["state"]) == {0, 1, 2}
    for entry in saved["state"].values():
        assert all(isinstance(v, (np.ndarray, int, float)) for v in entry.values())
    copies = [Parameter(p.data.copy()) for p in parameters]
    restored = cls(**kwargs)
    restored.load_state_dict(saved)                      # bound at the next step()
    bound = cls(**kwargs)
    copies_bound = [Parameter(p.data.copy()) for p in parameters]
    bound.load_state_dict(saved, copies_bound)           # bound now
    assert restored.lr == opt.lr
    for _ in range(3):
        fill_gradients(parameters, rng)
        for clone in (copies, copies_bound):
            for param, copy in zip(parameters, clone):
                copy.grad = param.grad.copy()
        opt.step(parameters)
        restored.step(copies)
        bound.step(copies_bound)
    for param, copy, copy_bound in zip(parameters, copies, copies_bound):
        np.testing.assert_array_equal(copy.data, param.data)
        np.testing.assert_array_equal(copy_bound.data, param.data)


def test_state_dict_is_a_copy_keyed_by_position(rng):
    first, skipped, third = make_parameters(rng)
    fill_gradients([first, third], rng)
    opt = optim.Adam()
    opt.step([first, skipped, third])
    saved = opt.state_dict()
    assert set(saved["state"]) == {0, 2}
    assert saved["state"][0]["step"] == 1
    saved["state"][0]["exp_avg"][...] = 123.0
    assert not np.any(opt.state[first]["exp_avg"] == 123.0)


def test_load_state_dict_accepts_numpy_scalars_and_checks_shapes(rng):
    parameters = make_parameters(rng)
    fill_gradients(parameters, rng)
    opt = optim.Adam()
    opt.step(parameters)
    saved = opt.state_dict()
    saved["state"][0]["step"] = np.array(1)             # as a file format gives it back
    restored = optim.Adam()
    restored.load_state_dict(saved, parameters)
    assert restored.state[parameters[0]]["step"] == 1
    assert type(restored.state[parameters[0]]["step"]) is int
    with pytest.raises(ShapeError, match="Adam.load_state_dict.*Received: exp_avg.shape"):
        optim.Adam().load_state_dict(saved, parameters[::-1])


def test_gradient_shape_must_match(rng):
    param = Parameter(np.zeros((2, 3)))
    param.grad = np.zeros((3, 2))
    with pytest.raises(ShapeError, match=r"SGD.*Received: .*grad.shape=\(3, 2\)"):
        optim.SGD().step([param])


def test_zero_grad(rng):
    parameters = make_parameters(rng)
    fill_gradients(parameters, rng)
    optim.SGD().zero_grad(parameters)
    assert all(p.grad is None for p in parameters)


def test_sgd_positional_order_follows_design():
    opt = optim.SGD(0.1, 0.9, True, 1e-4)
    assert (opt.lr, opt.momentum, opt.nesterov, opt.weight_decay, opt.dampening) == (0.1, 0.9, True, 1e-4, 0.0)


def test_defaults_match_torch():
    assert optim.SGD().get_config() == dict(lr=1e-3, momentum=0.0, dampening=0.0,
                                            weight_decay=0.0, nesterov=False)
    assert optim.RMSProp().get_config() == dict(lr=1e-2, rho=0.99, eps=1e-8, weight_decay=0.0,
                                                momentum=0.0, centered=False)
    assert optim.Adam().get_config() == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                             weight_decay=0.0, amsgrad=False)
    assert optim.AdamW().get_config()["weight_decay"] == 1e-2
    assert optim.AdaGrad().get_config() == dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                                                initial_accumulator_value=0.0, eps=1e-10)


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_config_round_trip(cls, kwargs):
    opt = cls(**kwargs)
    assert cls(**opt.get_config()).get_config() == opt.get_config()
    assert repr(opt).startswith(cls.__name__ + "(lr=")


@pytest.mark.parametrize("cls, kwargs, match", [
    (optim.SGD, dict(lr=-0.1), "SGD expects lr as a finite real number >= 0"),
    (optim.SGD, dict(lr="0.1"), "SGD expects lr as a finite real number"),
    (optim.SGD, dict(lr=float("nan")), "SGD expects lr as a finite real number"),
    (optim.Adam, dict(lr=float("inf")), "Adam expects lr as a finite real number"),
    (optim.RMSProp, dict(lr=-1), "RMSProp expects lr as a finite real number >= 0"),
    (optim.AdaGrad, dict(lr=True), "AdaGrad expects lr as a finite real number"),
    (optim.AdamW, dict(lr=None), "AdamW expects lr as a finite real number"),
    (optim.SGD, dict(clipnorm=0), "SGD expects clipnorm as a finite real number > 0"),
    (optim.SGD, dict(momentum=-0.5), "SGD expects momentum as a finite real number in"),
    (optim.SGD, dict(momentum=1.0), "SGD expects momentum as a finite real number in"),
    (optim.SGD, dict(dampening=1.5), "SGD expects dampening as a finite real number in"),
    (optim.SGD, dict(nesterov=True), "SGD expects momentum > 0 and dampening == 0"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "dampening == 0"),
    (optim.SGD, dict(nesterov=1), "SGD expects nesterov as a bool"),
    (optim.SGD, dict(weight_decay=-1e-4), "SGD expects weight_decay as a finite real number >= 0"),
    (optim.RMSProp, dict(rho=1.0), "RMSProp expects rho as a finite real number in"),
    (optim.RMSProp, dict(eps=-1e-8), "RMSProp expects eps as a finite real number >= 0"),
    (optim.RMSProp, dict(centered="no"), "RMSProp expects centered as a bool"),
    (optim.Adam, dict(betas=(1.0, 0.999)), r"Adam expects betas\[0\] as a finite real number in"),
    (optim.Adam, dict(betas=(0.9, -0.1)), r"Adam expects betas\[1\] as a finite real number in"),
    (optim.Adam, dict(betas=0.9), "Adam expects betas as a pair"),
    (optim.AdamW, dict(weight_decay=-0.01), "AdamW expects weight_decay as a finite real number >= 0"),
    (optim.AdamW, dict(amsgrad=None), "AdamW expects amsgrad as a bool"),
    (optim.AdaGrad, dict(lr_decay=-1.0), "AdaGrad expects lr_decay as a finite real number >= 0"),
    (optim.AdaGrad, dict(initial_accumulator_value=-0.1), "initial_accumulator_value as a finite real number >= 0"),
    (optim.AdaGrad, dict(eps=True), "AdaGrad expects eps as a finite real number"),
])
def test_invalid_hyper_parameters(cls, kwargs, match):
    with pytest.raises(ConfigError, match=match + ".*Received: "):
        cls(**kwargs)


@pytest.mark.parametrize("name, cls", [
    ("sgd", optim.SGD), ("SGD", optim.SGD), ("adam", optim.Adam), ("adamw", optim.AdamW),
    ("rmsprop", optim.RMSProp), ("RMSprop", optim.RMSProp), ("adagrad", optim.AdaGrad),
    (optim.AdamW, optim.AdamW),
])
def test_get_by_name(name, cls):
    opt = optim.get(name)
    assert type(opt) is cls and opt.get_config() == cls().get_config()


def test_get_instance_and_unknown():
    opt = optim.SGD(lr=0.5)
    assert optim.get(opt) is opt
    for identifier in ("adamax", None, optim.Optimizer, 0.1):
        with pytest.raises(ConfigError, match=r"Unknown optimizer.*'adagrad'.*Received: "):
            optim.get(identifier)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSProp, optim.AdaGrad])
def test_numpy_scalars_are_taken_as_learning_rates(cls):
    opt = cls(lr=np.float32(0.5))
    assert opt.lr == 0.5 and type(opt.lr) is float


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -1.0, np.float64("inf"), "0.1"])
def test_a_learning_rate_set_by_hand_is_checked_before_the_step(bad):
    param = Parameter(np.ones(3))
    opt = optim.SGD(lr=0.1, momentum=0.9)
    param.grad = np.ones(3)
    opt.step([param])
    before, buffer = param.data.copy(), opt.state[param]["momentum_buffer"].copy()
    opt.lr = bad
    expected = rf"SGD.lr gave the learning rate lr={re.escape(repr(bad))} for step 1"
    with pytest.raises(ConfigError, match=expected):
        opt.step([param])
    np.testing.assert_array_equal(param.data, before)
    np.testing.assert_array_equal(opt.state[param]["momentum_buffer"], buffer)


def test_a_loaded_state_dict_with_a_bad_rate_is_refused():
    with pytest.raises(ConfigError, match=r"SGD.load_state_dict expects lr .*Received: lr=inf"):
        optim.SGD().load_state_dict({"lr": float("inf"), "state": {}})


@pytest.mark.parametrize("cls, kwargs", [
    (optim.SGD, dict(momentum=np.float32(0.5), weight_decay=np.float64(0.01),
                     nesterov=np.bool_(True))),
    (optim.Adam, dict(betas=(np.float32(0.5), np.float64(0.9)), eps=np.float32(1e-6))),
    (optim.RMSProp, dict(rho=np.float16(0.5), centered=np.bool_(False))),
    (optim.AdaGrad, dict(lr_decay=np.int64(0), initial_accumulator_value=np.float32(0.25))),
])
def test_numpy_scalars_are_taken_as_hyper_parameters(cls, kwargs):
    config = cls(**kwargs).get_config()
    for name, value in kwargs.items():
        assert config[name] == (tuple(float(v) for v in value) if name == "betas" else value)
        values = config[name] if name == "betas" else (config[name],)
        assert all(type(v) in (float, bool) for v in values), config
