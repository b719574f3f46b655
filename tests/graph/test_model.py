"""lamina.Model's behaviour: names, inputs as lists or dicts, History and evaluate keys,
predict, backward, training steps, summary, config, and graphs with shared, nested,
integer-input and two-output layers (each checked against the arrays it must compute)."""

import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import NonFiniteError
from lamina.gradcheck import numerical_gradient

LOSSES = {"digit": "cross_entropy", "size": "mse"}


def two_heads(seed=0):
    lamina.seed(seed)
    image = lamina.Input((1, 8, 8), name="image")
    extra = lamina.Input((4,), name="extra")
    h = L.Flatten(name="flat")(L.ReLU(name="relu")(L.Conv2D(None, 4, 3, name="conv")(image)))
    h = L.Concatenate(axis=1, name="join")([h, extra])
    digit = L.Linear(None, 10, name="digit")(h)
    size = L.Linear(None, 1, name="size")(h)
    return lamina.Model(inputs=[image, extra], outputs=[digit, size], name="two_heads")


def compiled(model):
    return model.compile(loss=LOSSES, loss_weights={"size": 0.1}, optimizer="adam",
                         metrics={"digit": ["accuracy"]}) or model


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 1, 8, 8)).astype(np.float32)
    e = rng.standard_normal((n, 4)).astype(np.float32)
    return x, e, rng.integers(0, 10, n), rng.standard_normal((n, 1)).astype(np.float32)


def cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(labels)), labels])


def check_gradients(model, inputs, rng, rtol=1e-5):
    """model.backward against central differences of L = sum_k <forward(inputs)_k, dout_k>,
    for every input and every parameter, in float64."""
    model.astype(np.float64)
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    outputs = model.forward(inputs)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    douts = [rng.standard_normal(out.shape) for out in outputs]
    model.zero_grad()
    grads = model.backward(douts if len(douts) > 1 else douts[0])
    grads = grads if isinstance(grads, list) else [grads]

    def loss():
        result = model.forward(inputs)
        result = result if isinstance(result, list) else [result]
        return float(sum(np.sum(out * dout) for out, dout in zip(result, douts)))

    analytic = [g.copy() for g in grads] + [p.grad.copy() for p in model.parameters()]
    for i, (array, grad) in enumerate(zip(inputs + [p.data for p in model.parameters()],
                                          analytic)):
        np.testing.assert_allclose(grad, numerical_gradient(loss, array), rtol=rtol, atol=1e-7,
                                   err_msg=f"gradient {i}")


# -- names ---------------------------------------------------------------------------------------
def test_inputs_are_symbolic_tensors_with_a_batch_axis():
    image = lamina.Input((1, 8, 8), name="image")
    assert image.shape == (None, 1, 8, 8) and image.name == "image"
    tokens = lamina.Input((12,), dtype="int64", name="tokens")
    assert tokens.shape == (None, 12) and np.dtype(tokens.dtype) == np.int64
    h = L.Conv2D(None, 4, 3)(image)
    assert h.shape == (None, 4, 6, 6)


def test_inputs_and_outputs_are_named():
    model = two_heads()
    assert model.input_names == ["image", "extra"]
    assert model.output_names == ["digit", "size"]
    assert model.name == "two_heads"
    a, b = lamina.Input((3,)), lamina.Input((3,))  # default names: unique within the model
    model = lamina.Model(inputs=[a, b], outputs=[L.Linear(None, 2)(a), L.Linear(None, 2)(b)])
    assert len(set(model.input_names)) == 2 and len(set(model.output_names)) == 2


def test_single_tensors_for_inputs_and_outputs_give_bare_arrays():
    x = lamina.Input((3,), name="x")
    model = lamina.Model(inputs=x, outputs=L.Linear(None, 2, name="out")(x))
    assert model.input_names == ["x"] and model.output_names == ["out"]
    batch = np.ones((5, 3), np.float32)
    assert isinstance(model.forward(batch), np.ndarray) and model.forward(batch).shape == (5, 2)
    assert isinstance(model.predict(batch), np.ndarray)
    assert isinstance(model.backward(np.ones((5, 2), np.float32)), np.ndarray)


def test_a_merge_layer_takes_a_list_or_several_tensors(rng):
    a, b = lamina.Input((3,), name="a"), lamina.Input((2,), name="b")
    by_list = lamina.Model([a, b], L.Concatenate(axis=1)([a, b]))
    by_args = lamina.Model([a, b], L.Concatenate(axis=1)(a, b))
    xa, xb = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    expected = np.concatenate([xa, xb], axis=1)
    np.testing.assert_array_equal(by_list.forward([xa, xb]), expected)
    np.testing.assert_array_equal(by_args.forward([xa, xb]), expected)
    da, db = by_args.backward(np.arange(20.0).reshape(4, 5))
    np.testing.assert_array_equal(da, np.arange(20.0).reshape(4, 5)[:, :3])
    np.testing.assert_array_equal(db, np.arange(20.0).reshape(4, 5)[:, 3:])


def test_training_mode_reaches_every_layer_of_the_graph():
    x = lamina.Input((50,), name="x")
    model = lamina.Model(x, L.Linear(None, 3, name="out")(L.Dropout(0.5, name="drop")(x)))
    batch = np.ones((4, 50), np.float32)
    predicted = model.predict(batch)  # predict runs in inference mode
    model.eval()
    np.testing.assert_allclose(model.forward(batch), predicted, rtol=1e-6)
    model.train()
    assert not np.allclose(model.forward(batch), predicted)


# -- inputs as lists or dicts --------------------------------------------------------------------
def test_dict_and_list_inputs_give_the_same_outputs():
    model = two_heads()
    x, e, _, _ = data()
    by_list, by_dict = model.forward([x, e]), model.forward({"extra": e, "image": x})
    assert isinstance(by_list, list) and len(by_list) == 2
    for a, b in zip(by_list, by_dict):
        np.testing.assert_array_equal(a, b)
    predicted = model.predict({"image": x, "extra": e}, batch_size=16)
    assert [p.shape for p in predicted] == [(40, 10), (40, 1)]
    for a, b in zip(predicted, model.predict([x, e])):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for a, b in zip(predicted, by_list):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def fit_history(compile_args, by_name):
    x, e, y, s = data()
    model = two_heads()
    model.compile(optimizer="adam", **compile_args)
    inputs, targets = ({"image": x, "extra": e}, {"digit": y, "size": s}) if by_name \
        else ([x, e], [y, s])
    lamina.seed(5)
    return model.fit(inputs, targets, epochs=2, batch_size=16).history


def test_lists_in_output_order_train_as_dicts_do():
    by_name = fit_history(dict(loss=LOSSES, loss_weights={"size": 0.1},
                               metrics={"digit": ["accuracy"]}), by_name=True)
    in_order = fit_history(dict(loss=["cross_entropy", "mse"], loss_weights=[1.0, 0.1],
                                metrics={"digit": ["accuracy"]}), by_name=False)
    assert set(by_name) == {"loss", "digit_loss", "size_loss", "digit_accuracy"}
    assert in_order == by_name


def test_metrics_as_one_list_per_output_in_output_order():
    by_name = fit_history(dict(loss=LOSSES, metrics={"digit": ["accuracy"]}), by_name=True)
    in_order = fit_history(dict(loss=LOSSES, metrics=[["accuracy"], []]), by_name=True)
    assert in_order == by_name


# -- History, evaluate, predict ------------------------------------------------------------------
def test_history_and_evaluate_report_each_output():
    x, e, y, s = data(56)
    model = compiled(two_heads())
    train = ({"image": x[:40], "extra": e[:40]}, {"digit": y[:40], "size": s[:40]})
    val = ({"image": x[40:], "extra": e[40:]}, {"digit": y[40:], "size": s[40:]})
    history = model.fit(*train, epochs=2, batch_size=16, validation_data=val)
    keys = {"loss", "digit_loss", "size_loss", "digit_accuracy"}
    assert set(history.history) == keys | {"val_" + key for key in keys}
    assert all(len(values) == 2 for values in history.history.values())
    logs = history.history
    for prefix in ("", "val_"):  # the loss is the weighted total
        np.testing.assert_allclose(logs[prefix + "loss"],
                                   np.add(logs[prefix + "digit_loss"],
                                          np.multiply(0.1, logs[prefix + "size_loss"])), rtol=1e-5)

    result = model.evaluate(*val)
    assert set(result) == keys
    for key in keys:  # validation runs on the weights at the end of the epoch
        np.testing.assert_allclose(result[key], logs["val_" + key][-1], rtol=1e-5)
    digit, size = model.predict(val[0])
    np.testing.assert_allclose(result["digit_loss"], cross_entropy(digit, y[40:]), rtol=1e-5)
    np.testing.assert_allclose(result["size_loss"], np.mean((size - s[40:]) ** 2), rtol=1e-5)
    np.testing.assert_allclose(result["digit_accuracy"], np.mean(digit.argmax(1) == y[40:]))
    np.testing.assert_allclose(result["loss"], result["digit_loss"] + 0.1 * result["size_loss"],
                               rtol=1e-5)


# -- backward and the training step --------------------------------------------------------------
def test_backward_returns_input_gradients_in_order_and_accumulates(rng):
    model = two_heads()
    x, e, _, _ = data(6)
    check_gradients(model, [x, e], rng)
    douts = [rng.standard_normal((6, 10)), rng.standard_normal((6, 1))]
    model.zero_grad()
    model.forward([x.astype(np.float64), e.astype(np.float64)])
    dx, de = model.backward(douts)
    assert dx.shape == x.shape and de.shape == e.shape
    once = [p.grad.copy() for p in model.parameters()]
    model.forward([x.astype(np.float64), e.astype(np.float64)])
    model.backward(douts)
    for grad, p in zip(once, model.parameters()):
        np.testing.assert_allclose(p.grad, 2 * grad, rtol=1e-12)


def test_an_output_that_feeds_another_layer_gets_both_gradients(rng):
    x = lamina.Input((4,), name="x")
    hidden = L.Tanh(name="hidden")(L.Linear(None, 3, name="dense")(x))
    model = lamina.Model(x, [hidden, L.Linear(None, 2, name="head")(hidden), x])
    assert model.output_names[:2] == ["hidden", "head"]
    batch = rng.standard_normal((5, 4))
    model.astype(np.float64)
    outputs = model.forward(batch)
    np.testing.assert_array_equal(outputs[2], batch)  # an input can be an output as it is
    check_gradients(model, [batch], rng)


def test_fit_takes_the_same_steps_as_train_step():
    x, e, y, s = data()
    stepped, fitted = compiled(two_heads()), compiled(two_heads())
    for i in (0, 20):
        stepped.train_step([x[i:i + 20], e[i:i + 20]], {"digit": y[i:i + 20], "size": s[i:i + 20]})
    fitted.fit([x, e], {"digit": y, "size": s}, epochs=1, batch_size=20, shuffle=False)
    for (name, a), (_, b) in zip(stepped.named_parameters(), fitted.named_parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-7, err_msg=name)


def test_fit_shuffles_every_input_and_target_alike():
    """One batch per epoch: shuffling only reorders the sum, so the weights match an unshuffled
    run; an input shuffled apart from the others would train on wrong pairs."""
    x, e, y, s = data()
    shuffled, ordered = compiled(two_heads()), compiled(two_heads())
    lamina.seed(3)
    shuffled.fit((x, e), {"digit": y, "size": s}, epochs=3, batch_size=40, shuffle=True)
    ordered.fit((x, e), {"digit": y, "size": s}, epochs=3, batch_size=40, shuffle=False)
    for (name, a), (_, b) in zip(shuffled.named_parameters(), ordered.named_parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-4, atol=1e-6, err_msg=name)


def test_validation_split_reports_each_output():
    x, e, y, s = data()
    history = compiled(two_heads()).fit({"image": x, "extra": e}, {"digit": y, "size": s},
                                        epochs=1, validation_split=0.25)
    assert {"val_loss", "val_digit_loss", "val_size_loss", "val_digit_accuracy"} <= \
        set(history.history)


def test_compute_loss_and_gradients_then_apply_gradients_is_train_step():
    x, e, y, s = data(8)
    inputs, targets = [x, e], {"digit": y, "size": s}
    model, other = compiled(two_heads()), compiled(two_heads())
    loss, outputs = model.compute_loss_and_gradients(inputs, targets)
    assert [out.shape for out in outputs] == [(8, 10), (8, 1)]
    np.testing.assert_allclose(loss, model.evaluate(inputs, targets)["loss"], rtol=1e-5)
    grads = [p.grad.copy() for p in model.parameters()]
    model.compute_loss_and_gradients(inputs, targets)  # zeroes first: no accumulation
    for grad, p in zip(grads, model.parameters()):
        np.testing.assert_array_equal(p.grad, grad)
    model.apply_gradients()
    other_loss, _ = other.train_step(inputs, targets)
    assert other_loss == loss
    for a, b in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    before = [p.data.copy() for p in other.parameters()]
    with pytest.raises(NonFiniteError):
        other.train_step([bad, e], targets)
    for a, p in zip(before, other.parameters()):
        np.testing.assert_array_equal(a, p.data)


def test_compute_loss_and_gradients_includes_weight_penalties():
    x = lamina.Input((3,), name="x")
    plain = lamina.Model(x, L.Linear(None, 2, name="out")(x))
    lamina.seed(0)
    x = lamina.Input((3,), name="x")
    penalised = lamina.Model(x, L.Linear(None, 2, kernel_regularizer=lamina.regularizers.L2(0.5),
                                         name="out")(x))
    penalised.set_weights(plain.get_weights())
    batch, labels = np.random.default_rng(0).standard_normal((4, 3)), np.array([0, 1, 1, 0])
    for model in (plain, penalised):
        model.compile(loss="cross_entropy", optimizer="sgd")
    loss, _ = plain.compute_loss_and_gradients(batch, labels)
    penalised_loss, _ = penalised.compute_loss_and_gradients(batch, labels)
    weight = penalised.parameters()[0]
    penalty = lamina.regularizers.L2(0.5)
    np.testing.assert_allclose(penalised_loss, loss + penalty(weight.data), rtol=1e-6)
    np.testing.assert_allclose(weight.grad, plain.parameters()[0].grad + penalty.gradient(weight.data),
                               rtol=1e-6)


# -- parameters, summary, config -----------------------------------------------------------------
def test_named_parameters_are_layer_name_dot_parameter():
    model = two_heads()
    named = model.named_parameters()
    assert sorted(name for name, _ in named) == sorted(
        f"{layer}.{param}" for layer in ("conv", "digit", "size") for param in ("weight", "bias"))
    assert [p for _, p in named] == model.parameters()
    x = lamina.Input((3,))
    auto = lamina.Model(x, L.Linear(None, 2)(L.Linear(None, 4)(x)))
    names = [name for name, _ in auto.named_parameters()]
    assert len(names) == 4 == len(set(names))


def test_a_shared_layer_appears_once_and_its_gradient_sums_both_uses(rng):
    x = lamina.Input((4,), name="x")
    shared = L.Linear(None, 4, name="shared")
    model = lamina.Model(x, shared(L.Tanh()(shared(x))))  # one layer at two places of a chain
    assert [name for name, _ in model.named_parameters()] == ["shared.weight", "shared.bias"]
    assert len(model.parameters()) == 2
    batch = rng.standard_normal((3, 4))
    model.astype(np.float64)
    w, b = shared.weight.data, shared.bias.data
    np.testing.assert_allclose(model.forward(batch), np.tanh(batch @ w + b) @ w + b, rtol=1e-12)
    check_gradients(model, [batch], rng)


def test_summary_names_the_layers_each_node_is_connected_to():
    lines = []
    two_heads().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text
    rows = text.splitlines()
    join = next(i for i, row in enumerate(rows) if "join" in row and "Concatenate" in row)
    connections = "\n".join(rows[join:join + 3])  # a row may wrap its connections
    assert "flat" in connections and "extra" in connections
    digit = next(row for row in rows if "digit" in row and "Linear" in row)
    assert "join" in digit


def test_get_config_rebuilds_the_same_model():
    model = two_heads()
    config = model.get_config()
    rebuilt = lamina.Model.from_config(json.loads(json.dumps(config)))
    assert type(rebuilt) is lamina.Model
    assert rebuilt.get_config() == config
    assert rebuilt.input_names == model.input_names and rebuilt.output_names == model.output_names
    rebuilt.load_state_dict(model.state_dict())
    x, e, _, _ = data(5)
    for a, b in zip(model.predict([x, e]), rebuilt.predict([x, e])):
        np.testing.assert_array_equal(a, b)


# -- nesting and special layers ------------------------------------------------------------------
def test_a_sequential_is_a_layer_of_a_model(rng, tmp_path):
    x = lamina.Input((6,), name="x")
    encoder = lamina.Sequential([L.Linear(None, 5), L.Tanh()], name="encoder")
    head = L.Linear(None, 3, name="head")
    model = lamina.Model(x, head(encoder(x)))
    batch = rng.standard_normal((4, 6))
    model.astype(np.float64)
    np.testing.assert_allclose(model.forward(batch), head.forward(encoder.forward(batch)),
                               rtol=1e-12)
    assert all(name.startswith(("encoder.", "head.")) for name, _ in model.named_parameters())
    assert len(model.parameters()) == 4
    check_gradients(model, [batch], rng)
    model.save(tmp_path / "m.lamina")
    np.testing.assert_array_equal(lamina.load_model(tmp_path / "m.lamina").predict(batch),
                                  model.predict(batch))


def test_a_model_is_a_layer_of_another_model(rng, tmp_path):
    inner_x = lamina.Input((5,), name="inner_x")
    inner = lamina.Model(inner_x, L.ReLU()(L.Linear(None, 4, name="inner_dense")(inner_x)),
                         name="inner")
    left, right = lamina.Input((5,), name="left"), lamina.Input((5,), name="right")
    merged = L.Add(name="add")([inner(left), inner(right)])  # the nested model shared, too
    outer = lamina.Model([left, right], L.Linear(None, 2, name="head")(merged), name="outer")
    assert len(outer.parameters()) == 4
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    outer.astype(np.float64)
    head = dict(outer.named_parameters())
    expected = (inner.forward(a) + inner.forward(b)) @ head["head.weight"].data \
        + head["head.bias"].data
    np.testing.assert_allclose(outer.forward([a, b]), expected, rtol=1e-12)
    check_gradients(outer, [a, b], rng)
    outer.save(tmp_path / "outer.lamina")
    loaded = lamina.load_model(tmp_path / "outer.lamina")
    assert loaded.get_config() == outer.get_config()
    np.testing.assert_array_equal(loaded.predict([a, b]), outer.predict([a, b]))


def test_an_integer_input_feeds_token_ids_to_an_embedding(rng, tmp_path):
    tokens = lamina.Input((12,), dtype="int64", name="tokens")
    embedding = L.Embedding(50, 3, name="embed")
    out = L.Linear(None, 2, name="out")(L.Flatten()(embedding(tokens)))
    model = lamina.Model(tokens, out)
    ids = rng.integers(0, 50, (16, 12))
    np.testing.assert_allclose(model.predict(ids),
                               embedding.weight.data[ids].reshape(16, -1)
                               @ dict(model.named_parameters())["out.weight"].data
                               + dict(model.named_parameters())["out.bias"].data,
                               rtol=1e-5, atol=1e-6)
    model.compile(loss="cross_entropy", optimizer="adam")
    before = embedding.weight.data.copy()
    history = model.fit(ids, rng.integers(0, 2, 16), epochs=1, batch_size=8)
    assert np.isfinite(history.history["loss"]).all()
    unused = np.setdiff1d(np.arange(50), ids)  # rows no id picked keep their values
    np.testing.assert_array_equal(embedding.weight.data[unused], before[unused])
    assert not np.array_equal(embedding.weight.data, before)
    model.save(tmp_path / "tokens.lamina")
    loaded = lamina.load_model(tmp_path / "tokens.lamina")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(ids), model.predict(ids))


def test_a_layer_with_two_outputs_feeds_a_layer_with_two_inputs(rng):
    image = lamina.Input((2, 6, 4), name="image")
    values, indices = L.MaxPool2D(2, return_index=True, name="pool")(image)
    assert values.shape == indices.shape == (None, 2, 3, 2)
    up = L.MaxUnpool2D(2, name="unpool")(L.Tanh()(values), indices)
    model = lamina.Model(image, L.Conv2D(None, 3, 3, padding=1, name="conv")(up))
    x = rng.permutation(np.linspace(-1, 1, 2 * 2 * 6 * 4)).reshape(2, 2, 6, 4)  # no ties
    model.astype(np.float64)
    pool, unpool = L.MaxPool2D(2, return_index=True), L.MaxUnpool2D(2)
    pooled, where = pool.forward(x)
    conv = dict(model.named_parameters())
    expected = L.Conv2D(2, 3, 3, padding=1)
    expected.astype(np.float64)
    expected.weight.data, expected.bias.data = conv["conv.weight"].data, conv["conv.bias"].data
    np.testing.assert_allclose(model.forward(x),
                               expected.forward(unpool.forward(np.tanh(pooled), where)),
                               rtol=1e-12)
    check_gradients(model, [x], rng)
