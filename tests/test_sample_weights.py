"""lamina.sample_weights (checked weights, class_weight as Keras turns it into weights) and
per-sample weights in the training step (compute_loss, compute_loss_and_gradients,
train_step): their forms for several outputs, their errors, and the property that weight 2
counts a sample twice."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lamina
from lamina import layers as L
from lamina import losses
from lamina.errors import (ConfigError, DTypeError, GraphError, LabelError, NonFiniteError,
                           ShapeError)
from lamina.sample_weights import check_sample_weight, class_weight_to_sample_weight


# -- check_sample_weight -------------------------------------------------------------------------
@pytest.mark.parametrize("given, expected", [
    ([1, 2, 0], [1.0, 2.0, 0.0]),
    (np.array([[0.5], [1.0], [2.0]], np.float32), [0.5, 1.0, 2.0]),  # Keras' (N, 1) column
    (np.array([True, False, True]), [1.0, 0.0, 1.0]),
])
def test_check_sample_weight_gives_float64_per_sample(given, expected):
    weights = check_sample_weight("fit", given, 3)
    assert weights.dtype == np.float64 and weights.tolist() == expected


@pytest.mark.parametrize("given, error, message", [
    ([1.0, 2.0], ShapeError, r"fit expects sample_weight as 3 numbers, one per sample \(shape "
                             r"\(3,\)\). Received: sample_weight.shape=\(2,\)"),
    (np.ones((3, 2)), ShapeError, r"Received: sample_weight.shape=\(3, 2\)"),
    (2.0, ShapeError, r"Received: sample_weight.shape=\(\)"),
    ([[1.0], [2.0, 3.0], [1.0]], ShapeError, r"Received: a ragged list"),
    (["a", "b", "c"], DTypeError, r"Received: sample_weight.dtype=<U1"),
    (None, DTypeError, r"Received: NoneType"),
    ([1.0, np.nan, np.inf], NonFiniteError, r"fit expects finite sample_weight values. "
                                            r"Received: sample_weight\[1\]=nan, "
                                            r"sample_weight\[2\]=inf \(2 of 3 weights\)"),
    ([1.0, 0.0, -0.5], ConfigError, r"fit expects sample_weight >= 0, one weight per sample. "
                                    r"Received: sample_weight\[2\]=-0.5 \(1 of 3 weights\)"),
])
def test_check_sample_weight_errors_name_where_expected_and_received(given, error, message):
    with pytest.raises(error, match=message):
        check_sample_weight("fit", given, 3)


# -- class_weight_to_sample_weight ---------------------------------------------------------------
IDS = np.array([0, 2, 1, 2, 0, 3])
LABEL_FORMS = {
    "ids": IDS,
    "column": IDS[:, None],
    "float-ids": IDS.astype(np.float32),
    "one-hot": np.eye(4)[IDS],
    "probabilities": np.eye(4)[IDS] * 0.7 + 0.075,  # argmax is still the class
}


@pytest.mark.parametrize("form", list(LABEL_FORMS))
def test_class_weights_follow_keras(form):
    """Keras 3's own conversion (keras.src.trainers.data_adapters) gives the same weights:
    class_weight[class of sample i], 1.0 for a class the dict leaves out."""
    keras_utils = pytest.importorskip("keras.src.trainers.data_adapters.data_adapter_utils")
    class_weight = {0: 0.5, 2: 3.0, 3: 0.0}
    ours = class_weight_to_sample_weight("fit", class_weight, LABEL_FORMS[form], 4)
    theirs = keras_utils.class_weight_to_sample_weights(LABEL_FORMS[form], class_weight)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, theirs)
    assert ours.tolist() == [0.5, 3.0, 1.0, 3.0, 0.5, 0.0]


def test_class_weights_for_one_sigmoid_column():
    y = np.array([[1], [0], [1]])
    assert class_weight_to_sample_weight("fit", {1: 4.0}, y, 2).tolist() == [4.0, 1.0, 4.0]


def test_class_weights_times_sample_weights():
    """Both given: the product, as tf.keras (Keras 3 refuses the pair; lamina keeps it)."""
    weights = class_weight_to_sample_weight("fit", {2: 3.0}, IDS, 4,
                                            sample_weight=[1, 2, 1, 0.5, 1, 1])
    assert weights.tolist() == [1.0, 6.0, 1.0, 1.5, 1.0, 1.0]
    with pytest.raises(ShapeError, match=r"fit expects sample_weight as 6 numbers"):
        class_weight_to_sample_weight("fit", {2: 3.0}, IDS, 4, sample_weight=[1, 2])


def test_ignored_labels_weigh_one():
    y = np.array([1, -100, 0])
    assert class_weight_to_sample_weight("fit", {0: 2.0, 1: 3.0}, y, 2, ignore_index=-100) \
        .tolist() == [3.0, 1.0, 2.0]


@pytest.mark.parametrize("class_weight, message", [
    ([1.0, 2.0], r"fit expects class_weight as a dict \{class id: weight\}. Received: list"),
    ({4: 1.0}, r"fit expects class_weight keys as class ids in \[0, 4\) for a model with 4 "
               r"classes. Received: class_weight key 4"),
    ({-1: 1.0}, r"Received: class_weight key -1"),
    ({"cat": 1.0}, r"Received: class_weight key 'cat'"),
    ({1.0: 1.0}, r"Received: class_weight key 1.0"),
    ({0: -2.0}, r"fit expects class_weight\[0\] as a finite real number >= 0. "
                r"Received: class_weight\[0\]=-2.0"),
    ({0: np.nan}, r"class_weight\[0\]"),
])
def test_class_weight_errors_name_the_key(class_weight, message):
    with pytest.raises(ConfigError, match=message):
        class_weight_to_sample_weight("fit", class_weight, IDS, 4)


def test_a_class_no_label_has_is_refused_unless_told_otherwise():
    y = np.array([0, 1, 1, 0])
    with pytest.raises(ConfigError, match=r"fit expects class_weight to name classes the labels "
                                          r"have \(they hold \[0, 1\]\). Received: class_weight "
                                          r"keys \[2, 3\] that no label has"):
        class_weight_to_sample_weight("fit", {3: 1.0, 1: 2.0, 2: 1.0}, y, 4)
    assert class_weight_to_sample_weight("fit", {3: 5.0, 1: 2.0}, y, 4, check_present=False) \
        .tolist() == [1.0, 2.0, 2.0, 1.0]


def test_labels_are_checked_against_the_classes():
    with pytest.raises(LabelError, match=r"fit expects class ids in \[0, 4\)"):
        class_weight_to_sample_weight("fit", {0: 1.0}, np.array([0, 4]), 4)
    with pytest.raises(LabelError, match=r"fit expects integer class ids"):
        class_weight_to_sample_weight("fit", {0: 1.0}, np.array([0.0, 0.5]), 4)


# -- Loss objects --------------------------------------------------------------------------------
def test_loss_objects_check_their_sample_weights():
    with pytest.raises(ShapeError, match=r"CrossEntropy expects sample_weight as 2 numbers"):
        losses.CrossEntropy()(np.zeros((2, 3)), [0, 1], sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match=r"MSE expects sample_weight >= 0"):
        losses.MSE()(np.zeros((2, 3)), np.ones((2, 3)), sample_weight=[1.0, -2.0])


@pytest.mark.parametrize("ours, keras_name, keras_options, labels", [
    (losses.MSE(), "MeanSquaredError", {}, "real"),
    (losses.L1(), "MeanAbsoluteError", {}, "real"),
    (losses.Huber(delta=0.7), "Huber", dict(delta=0.7), "real"),
    (losses.CrossEntropy(), "SparseCategoricalCrossentropy", dict(from_logits=True), "ids"),
    (losses.CrossEntropy(), "CategoricalCrossentropy", dict(from_logits=True), "rows"),
    (losses.BCEWithLogits(), "BinaryCrossentropy", dict(from_logits=True), "unit"),
])
def test_weighted_losses_are_keras(rng, ours, keras_name, keras_options, labels):
    """Keras' own losses with sample_weight (float32 there, hence rtol 1e-6): the weighted sum
    divided by N, each sample's loss the mean over its elements."""
    keras = pytest.importorskip("keras")
    pred = rng.standard_normal((6, 4))
    y = {"real": lambda: rng.standard_normal((6, 4)), "ids": lambda: rng.integers(0, 4, 6),
         "rows": lambda: rng.dirichlet(np.ones(4), 6), "unit": lambda: rng.uniform(0, 1, (6, 4))}
    y = y[labels]()
    weights = rng.uniform(0, 2, 6)
    keras_loss = getattr(keras.losses, keras_name)(**keras_options)
    theirs = float(keras_loss(y, pred, sample_weight=weights))
    assert ours(pred, y, sample_weight=weights)[0] == pytest.approx(theirs, rel=1e-6)


def test_takes_sample_weight():
    class Plain(losses.Loss):
        def __call__(self, pred, y):
            return 0.0, np.zeros_like(pred)

    assert losses.takes_sample_weight(losses.MSE())
    assert losses.takes_sample_weight(lambda pred, y, sample_weight=None: None)
    assert losses.takes_sample_weight(lambda pred, y, **options: None)
    assert not losses.takes_sample_weight(lambda pred, y: None)
    assert not losses.takes_sample_weight(Plain())


# -- the training step ---------------------------------------------------------------------------
def linear_model(loss="cross_entropy", dtype=np.float64):
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(4, 3)])
    model.build((None, 4))
    model.astype(dtype)
    model.compile(loss=loss, optimizer=lamina.optim.SGD(lr=0.1))
    return model


def two_heads():
    lamina.seed(0)
    features = lamina.Input((4,), name="features")
    model = lamina.Model(inputs=features, outputs=[L.Linear(4, 3, name="digit")(features),
                                                   L.Linear(4, 1, name="size")(features)])
    model.compile(loss={"digit": "cross_entropy", "size": "mse"}, optimizer="sgd",
                  loss_weights={"size": 0.5})
    return model


def data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 4)).astype(np.float32),
            [rng.integers(0, 3, n), rng.standard_normal((n, 1)).astype(np.float32)],
            rng.uniform(0.1, 2.0, n))


def grads(model):
    return [p.grad.copy() for p in model.parameters()]


def test_one_array_weighs_every_loss():
    model, (x, y, w) = two_heads(), data()
    total, _ = model.compute_loss_and_gradients(x, y, sample_weight=w)
    outputs = model.forward(x)
    digit = losses.CrossEntropy()(outputs[0], y[0], w)[0]
    size = losses.MSE()(outputs[1], y[1], w)[0]
    assert total == pytest.approx(digit + 0.5 * size, rel=1e-6)
    assert model.last_losses == pytest.approx({"digit": digit, "size": size}, rel=1e-6)
    assert all(p.grad.dtype == np.float32 for p in model.parameters())  # weights are float64


@pytest.mark.parametrize("form", ["dict", "list-per-output", "tuple"])
def test_one_weight_array_per_loss(form):
    model, (x, y, w) = two_heads(), data()
    ones = np.ones_like(w)
    sample_weight = {"dict": {"digit": w, "size": ones}, "list-per-output": [w, ones],
                     "tuple": (w, None)}[form]
    total, _ = model.compute_loss_and_gradients(x, y, sample_weight=sample_weight)
    outputs = model.forward(x)
    expected = (losses.CrossEntropy()(outputs[0], y[0], w)[0]
                + 0.5 * losses.MSE()(outputs[1], y[1])[0])
    assert total == pytest.approx(expected, rel=1e-6)


def test_a_list_of_numbers_is_one_array_for_every_loss():
    model, (x, y, w) = two_heads(), data()
    as_list = model.compute_loss_and_gradients(x, y, sample_weight=w.tolist())[0]
    assert as_list == model.compute_loss_and_gradients(x, y, sample_weight=w)[0]


@pytest.mark.parametrize("sample_weight", [
    lambda w: [w], lambda w: (w,), lambda w: w.tolist(), lambda w: w[:, None],
    lambda w: [w.tolist()]])
def test_one_loss_takes_its_weights_bare_or_as_a_list_of_one(sample_weight):
    (x, y, w) = data()
    model = linear_model()
    expected = model.compute_loss_and_gradients(x.astype(np.float64), y[0], sample_weight=w)[0]
    assert model.compute_loss_and_gradients(x.astype(np.float64), y[0],
                                            sample_weight=sample_weight(w))[0] == expected


def test_a_dict_leaving_an_output_out_leaves_it_unweighted():
    model, (x, y, w) = two_heads(), data()
    left_out = model.compute_loss_and_gradients(x, y, sample_weight={"digit": w})[0]
    given = model.compute_loss_and_gradients(x, y, sample_weight={"digit": w, "size": None})[0]
    assert left_out == given


@pytest.mark.parametrize("sample_weight, error, message", [
    ({"digits": np.ones(6)}, GraphError,
     r"expects sample_weight as a dict keyed by the output names with a loss \['digit', "
     r"'size'\]. Unknown: \['digits'\]"),
    ([np.ones(6)] * 3, GraphError, r"one per output \['digit', 'size'\].*Received: a list of 3"),
    (np.ones(5), ShapeError, r"compute_loss \(output 'digit'\) expects sample_weight as 6 "
                             r"numbers.*Received: sample_weight.shape=\(5,\)"),
    ({"size": [1, 1, np.nan, 1, 1, 1]}, NonFiniteError,
     r"compute_loss \(output 'size'\) expects finite sample_weight values. "
     r"Received: sample_weight\[2\]=nan"),
])
def test_sample_weight_errors_name_the_model_and_output(sample_weight, error, message):
    model, (x, y, _) = two_heads(), data()
    with pytest.raises(error, match=message):
        model.compute_loss_and_gradients(x, y, sample_weight=sample_weight)


def test_a_loss_without_sample_weight_is_refused_when_weights_are_given():
    def plain(pred, y):
        return losses.MSE()(pred, y)

    model, (x, y, w) = linear_model(plain, np.float32), data()
    model.compute_loss_and_gradients(x, y[1].repeat(3, axis=1))  # unweighted: fine
    with pytest.raises(ConfigError, match=r"compute_loss expects a loss that takes sample_weight"):
        model.compute_loss_and_gradients(x, y[1].repeat(3, axis=1), sample_weight=w)


def test_a_callable_taking_sample_weight_gets_them():
    seen = []

    def weighted(pred, y, sample_weight=None):
        seen.append(sample_weight)
        return losses.MSE()(pred, y, sample_weight)

    model, (x, y, w) = linear_model(weighted, np.float32), data()
    model.compute_loss_and_gradients(x, y[1].repeat(3, axis=1), sample_weight=w)
    assert seen[0].dtype == np.float64 and seen[0].tolist() == w.tolist()


def test_an_unreduced_compiled_loss_is_refused():
    model, (x, y, _) = linear_model(losses.CrossEntropy(reduction="none")), data()
    with pytest.raises(ConfigError, match=r"expects its loss to reduce to one number \(reduction "
                                          r"'mean' or 'sum'\). Received: a loss of shape \(6,\)"):
        model.compute_loss_and_gradients(x.astype(np.float64), y[0])


def test_train_step_takes_sample_weight():
    (x, y, w) = data()
    stepped, by_hand = linear_model(), linear_model()
    stepped.train_step(x.astype(np.float64), y[0], sample_weight=w)
    by_hand.compute_loss_and_gradients(x.astype(np.float64), y[0], sample_weight=w)
    by_hand.apply_gradients()
    for a, b in zip(stepped.parameters(), by_hand.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    unweighted = linear_model()
    unweighted.train_step(x.astype(np.float64), y[0])
    assert not np.allclose(unweighted.parameters()[0].data, stepped.parameters()[0].data)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 7), row=st.integers(0, 6), seed=st.integers(0, 2**16),
       loss=st.sampled_from(["cross_entropy", "mse", "bce_with_logits", "huber"]))
def test_weight_two_counts_a_sample_twice(n, row, seed, loss):
    """Weight 2 on one row of a batch (the others 1) gives the loss and gradients of that
    batch with the row repeated, up to the mean's 1/N: N * weighted == (N + 1) * repeated.
    Weight 0 drops the row likewise."""
    row = row % n
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = rng.integers(0, 3, n) if loss == "cross_entropy" else rng.uniform(0, 1, (n, 3))
    weights = np.ones(n)
    weights[row] = 2.0
    repeat = np.r_[np.arange(n), row]
    model = linear_model(loss)
    weighted = model.compute_loss_and_gradients(x, y, sample_weight=weights)[0], grads(model)
    repeated = model.compute_loss_and_gradients(x[repeat], y[repeat])[0], grads(model)
    assert n * weighted[0] == pytest.approx((n + 1) * repeated[0], rel=1e-9)
    for ours, theirs in zip(weighted[1], repeated[1]):
        np.testing.assert_allclose(n * ours, (n + 1) * theirs, rtol=1e-9, atol=1e-12)
    if n > 1:
        weights[row] = 0.0
        kept = np.delete(np.arange(n), row)
        dropped = model.compute_loss_and_gradients(x, y, sample_weight=weights)[0]
        assert n * dropped == pytest.approx((n - 1) * model.compute_loss_and_gradients(
            x[kept], y[kept])[0], rel=1e-9)


def test_fit_with_sample_weight_equals_a_hand_loop_with_the_weighted_loss():
    """fit(sample_weight=w) takes the same steps as forward, the weighted loss
    sum_i w_i * l_i / N (checked against the formula itself), backward and the optimizer."""
    rng = np.random.default_rng(0)
    x, y, w = rng.normal(size=(50, 6)), rng.integers(0, 3, 50), rng.uniform(0, 2, 50)

    def build():
        lamina.seed(1)
        model = lamina.Sequential([L.Linear(6, 5), L.Tanh(), L.Linear(5, 3)]).astype(np.float64)
        model.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.1, momentum=0.9))
        return model

    fitted = build()
    fitted.fit(x, y, epochs=2, batch_size=16, shuffle=False, sample_weight=w, verbose=0)
    hand, loss = build(), losses.CrossEntropy()
    for _ in range(2):
        for start in range(0, 50, 16):
            xb, yb, wb = x[start:start + 16], y[start:start + 16], w[start:start + 16]
            out = hand.forward(xb)
            value, dout = loss(out, yb, sample_weight=wb)
            log_probs = out - np.log(np.exp(out).sum(axis=1, keepdims=True))
            assert np.isclose(value, np.sum(wb * -log_probs[np.arange(len(yb)), yb]) / len(yb),
                              rtol=1e-12)
            hand.zero_grad()
            hand.backward(dout)
            hand.optimizer.step(hand.parameters())
    for ours, theirs in zip(fitted.get_weights(), hand.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
