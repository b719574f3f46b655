"""Graphs that cannot be a model, and data that does not fit one: lamina.errors exceptions
whose message names the tensor, input, output or layer at fault."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import LaminaError


def two_heads():
    image = lamina.Input((1, 8, 8), name="image")
    extra = lamina.Input((4,), name="extra")
    h = L.Flatten(name="flat")(L.Conv2D(None, 2, 3, name="conv")(image))
    h = L.Concatenate(axis=1, name="join")([h, extra])
    model = lamina.Model(inputs=[image, extra],
                         outputs=[L.Linear(None, 10, name="digit")(h),
                                  L.Linear(None, 1, name="size")(h)])
    model.compile(loss={"digit": "cross_entropy", "size": "mse"}, optimizer="sgd")
    return model


def batch(n=6, m=None):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, 1, 8, 8)), rng.standard_normal((m or n, 4)),
            {"digit": rng.integers(0, 10, n), "size": rng.standard_normal((n, 1))})


# -- graphs --------------------------------------------------------------------------------------
def test_an_output_needing_an_input_not_listed_names_that_input():
    a, b = lamina.Input((3,), name="first"), lamina.Input((3,), name="second")
    out = L.Add(name="add")([L.Linear(None, 2)(a), L.Linear(None, 2)(b)])
    with pytest.raises(LaminaError, match="'second'"):
        lamina.Model(inputs=a, outputs=out)


def test_an_unused_input_is_named():
    a, b = lamina.Input((3,), name="used"), lamina.Input((3,), name="spare")
    with pytest.raises(LaminaError, match="'spare'"):
        lamina.Model(inputs=[a, b], outputs=L.Linear(None, 2)(a))


@pytest.mark.parametrize("inputs, outputs, match", [
    ("array", "tensor", "inputs"),
    ("tensor", "string", "outputs"),
    ("tensor", "array", "outputs"),
    ("intermediate", "tensor", r"inputs\[0\]"),
], ids=["array-as-input", "string-as-output", "array-as-output", "layer-output-as-input"])
def test_non_tensors_where_tensors_belong_are_named(inputs, outputs, match):
    x = lamina.Input((3,), name="x")
    hidden = L.Linear(None, 4, name="hidden")(x)
    out = L.Linear(None, 2, name="out")(hidden)
    given = {"array": np.zeros((1, 3)), "tensor": x, "intermediate": hidden}[inputs]
    taken = {"tensor": out, "string": "out", "array": np.zeros((1, 2))}[outputs]
    with pytest.raises(LaminaError, match=match):
        lamina.Model(inputs=given, outputs=[taken] if outputs != "tensor" else taken)


def test_a_layer_called_on_a_tensor_and_an_array_is_named():
    x = lamina.Input((3,), name="x")
    with pytest.raises(LaminaError, match="'joiner'"):
        L.Add(name="joiner")([x, np.zeros((1, 3))])


def test_a_layer_that_cannot_take_its_input_names_the_layer_and_the_tensor():
    x = lamina.Input((3, 4), name="pixels")
    with pytest.raises(LaminaError, match="'conv'") as error:
        L.Conv2D(None, 2, 3, name="conv")(x)
    assert "pixels" in str(error.value)


def test_two_inputs_with_one_name_are_an_error():
    a, b = lamina.Input((3,), name="twin"), lamina.Input((3,), name="twin")
    with pytest.raises(LaminaError, match="'twin'"):
        lamina.Model(inputs=[a, b], outputs=L.Add()([a, b]))


def test_no_cycle_can_be_written_a_layer_applied_to_its_own_output_is_a_chain(rng):
    """A layer call makes new tensors and never changes old ones, so no graph has a cycle;
    a layer fed its own output is the same weights twice in a row."""
    x = lamina.Input((4,), name="x")
    square = L.Linear(None, 4, name="square")
    model = lamina.Model(x, square(square(x)))
    batch_x = rng.standard_normal((2, 4)).astype(np.float32)
    w, b = square.weight.data, square.bias.data
    np.testing.assert_allclose(model.forward(batch_x), (batch_x @ w + b) @ w + b, rtol=1e-5)
    assert len(model.parameters()) == 2


# -- data that does not fit the inputs -----------------------------------------------------------
@pytest.mark.parametrize("method", ["fit", "predict", "evaluate"])
def test_the_wrong_number_of_inputs_names_the_expected_inputs(method):
    model = two_heads()
    x, e, y = batch()
    for wrong in ([x], [x, e, e]):
        args = (wrong, y) if method != "predict" else (wrong,)
        with pytest.raises(LaminaError, match=r"(?s)image.*extra"):
            getattr(model, method)(*args)


def test_forward_with_the_wrong_number_of_inputs_names_the_expected_inputs():
    x, _, _ = batch()
    with pytest.raises(LaminaError, match=r"(?s)image.*extra"):
        two_heads().forward([x])


@pytest.mark.parametrize("method", ["fit", "predict", "forward"])
def test_a_dict_with_an_unknown_input_name_names_it(method):
    model = two_heads()
    x, e, y = batch()
    inputs = {"image": x, "extar": e}
    args = (inputs, y) if method == "fit" else (inputs,)
    with pytest.raises(LaminaError, match="extar"):
        getattr(model, method)(*args)


@pytest.mark.parametrize("method", ["fit", "predict"])
def test_inputs_with_different_batch_sizes_are_named(method):
    model = two_heads()
    x, e, y = batch(6, 5)
    args = ([x, e], y) if method == "fit" else ([x, e],)
    with pytest.raises(LaminaError, match=r"(?s)(image.*extra|extra.*image)") as error:
        getattr(model, method)(*args)
    assert "6" in str(error.value) and "5" in str(error.value)


def test_targets_with_an_unknown_output_name_name_it():
    model = two_heads()
    x, e, y = batch()
    with pytest.raises(LaminaError, match="sise"):
        model.fit([x, e], {"digit": y["digit"], "sise": y["size"]})


# -- compile settings naming no output -----------------------------------------------------------
@pytest.mark.parametrize("setting", [
    dict(loss={"digit": "cross_entropy", "sise": "mse"}),
    dict(loss={"digit": "cross_entropy"}, loss_weights={"sise": 0.1}),
    dict(loss={"digit": "cross_entropy"}, metrics={"sise": ["mae"]}),
], ids=["loss", "loss_weights", "metrics"])
def test_a_compile_dict_naming_no_output_names_the_key_and_the_outputs(setting):
    model = two_heads()
    with pytest.raises(LaminaError, match="sise") as error:
        model.compile(optimizer="sgd", **setting)
    assert "digit" in str(error.value) and "size" in str(error.value)


def test_backward_with_the_wrong_number_of_gradients_is_an_error():
    model = two_heads()
    x, e, _ = batch()
    digit, _ = model.forward([x, e])
    with pytest.raises(LaminaError, match=r"(?s)digit.*size"):
        model.backward([np.ones_like(digit)])
