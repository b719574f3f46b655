import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, LabelError, ShapeError

X = np.eye(3)  # input row i selects row i of a member's weight: member outputs are set by hand

P_A = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.25, 0.25]])
P_B = np.array([[0.2, 0.7, 0.1], [0.2, 0.2, 0.6], [0.1, 0.65, 0.25]])
MEAN = np.array([[0.4, 0.5, 0.1], [0.2, 0.2, 0.6], [0.3, 0.45, 0.25]])


def member(outputs, softmax=False, dtype=np.float64, name=None):
    """A model whose output for X is exactly `outputs` (its logits, before an optional Softmax)."""
    outputs = np.asarray(outputs, dtype)
    linear = L.Linear(outputs.shape[0], outputs.shape[1], bias=False)
    model = lamina.Sequential([linear] + ([L.Softmax()] if softmax else []), name=name)
    model.astype(dtype)
    linear.weight.data = outputs
    return model


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def soft_pair():
    """A ends in Softmax (outputs P_A); B outputs logits log(P_B) + 7 (softmax gives P_B)."""
    return member(np.log(P_A), softmax=True), member(np.log(P_B) + 7.0)


# -- soft voting ----------------------------------------------------------------------------------
def test_soft_voting_averages_probabilities():
    ensemble = lamina.Ensemble(list(soft_pair()))
    np.testing.assert_allclose(ensemble.predict(X), MEAN, rtol=1e-12)
    np.testing.assert_array_equal(ensemble.predict_classes(X), [1, 2, 1])


@pytest.mark.parametrize("labels", [[1, 0, 1], [[1], [0], [1]], np.eye(3)[[1, 0, 1]]],
                         ids=["ids", "ids-column", "one-hot"])
def test_soft_evaluate_reports_nll_of_the_mean_and_accuracy(labels):
    result = lamina.Ensemble(list(soft_pair())).evaluate(X, labels)
    assert set(result) == {"loss", "accuracy"}
    nll = -(np.log(0.5) + np.log(0.2) + np.log(0.45)) / 3  # the true class's mean probability
    assert result["loss"] == pytest.approx(nll, rel=1e-12)
    assert result["accuracy"] == pytest.approx(2 / 3)


def test_from_logits_overrides_the_per_member_decision():
    a, b = soft_pair()
    all_logits = lamina.Ensemble([a, b], from_logits=True).predict(X)
    np.testing.assert_allclose(all_logits, (softmax(P_A) + P_B) / 2, rtol=1e-12)
    all_probabilities = lamina.Ensemble([a, b], from_logits=False).predict(X)
    np.testing.assert_allclose(all_probabilities, (P_A + np.log(P_B) + 7.0) / 2, rtol=1e-12)


def test_members_may_be_compiled_plain_layers_and_run_in_eval_mode():
    a, _ = soft_pair()
    a.compile("cross_entropy", "sgd")
    dropout = L.Dropout(0.9)  # identity in eval mode: its output, read as logits, is X itself
    ensemble = lamina.Ensemble([a, dropout, L.Softmax()])
    expected = (P_A + softmax(X) + softmax(X)) / 3
    np.testing.assert_allclose(ensemble.predict(X), expected, rtol=1e-12)
    assert dropout.training and a.training


def test_float32_members_give_float32():
    a = member(np.log(P_A), softmax=True, dtype=np.float32)
    b = member(np.log(P_B), dtype=np.float32)
    probabilities = lamina.Ensemble([a, b]).predict(X.astype(np.float32))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, MEAN, rtol=1e-6)


# -- hard voting ----------------------------------------------------------------------------------
def hard_trio():
    """Votes per row: (1, 1, 0), (2, 0, 1) a three-way tie, (2, 2, 2)."""
    return [member([[0.0, 5.0, 1.0], [0.0, 1.0, 3.0], [0.0, 0.0, 9.0]]),
            member(np.log([[0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]), softmax=True),
            member([[4.0, 3.0, -1.0], [1.0, 2.0, 0.0], [-5.0, -4.0, 0.0]])]


def test_hard_voting_returns_vote_fractions_and_breaks_ties_low():
    ensemble = lamina.Ensemble(hard_trio(), voting="hard")
    np.testing.assert_array_equal(ensemble.predict(X) * 3, [[1, 2, 0], [1, 1, 1], [0, 0, 3]])
    np.testing.assert_array_equal(ensemble.predict_classes(X), [1, 0, 2])
    assert ensemble.evaluate(X, [1, 1, 2]) == {"accuracy": pytest.approx(2 / 3)}


def test_two_member_tie_goes_to_the_lowest_class():
    ensemble = lamina.Ensemble(hard_trio()[1:], voting="hard")
    np.testing.assert_array_equal(ensemble.predict(X) * 2, [[1, 1, 0], [1, 1, 0], [0, 0, 2]])
    np.testing.assert_array_equal(ensemble.predict_classes(X), [0, 0, 2])


# -- errors ---------------------------------------------------------------------------------------
def test_constructor_errors():
    with pytest.raises(ConfigError, match=r"non-empty list of models\. Received: \[\]"):
        lamina.Ensemble([])
    with pytest.raises(ConfigError, match=r"Received: models\[1\]=str"):
        lamina.Ensemble([member(P_A), "model"])
    with pytest.raises(ConfigError, match=r"voting='soft' or 'hard'\. Received: voting='average'"):
        lamina.Ensemble([member(P_A)], voting="average")
    with pytest.raises(ConfigError, match=r"from_logits as one of None, True, False. Received: from_logits='yes'"):
        lamina.Ensemble([member(P_A)], from_logits="yes")


def test_members_must_agree_on_output_shape():
    ensemble = lamina.Ensemble([member(P_A, name="three"), member(np.ones((3, 4)), name="four")])
    message = (r"same \(N, C\) class scores\. Received: Sequential 'three' -> \(3, 3\), "
               r"Sequential 'four' -> \(3, 4\)")
    with pytest.raises(ShapeError, match=message):
        ensemble.predict(X)
    images = lamina.Ensemble([lamina.Sequential([L.Conv2D(1, 2, 1)], name="conv")])
    with pytest.raises(ShapeError, match=r"Sequential 'conv' -> \(2, 2, 3, 3\)"):
        images.predict(np.ones((2, 1, 3, 3), np.float32))


def test_evaluate_label_errors():
    with pytest.raises(LabelError, match=r"expects 3 labels.*Received: y.shape=\(2,\)"):
        lamina.Ensemble(hard_trio(), voting="hard").evaluate(X, [0, 1])
    with pytest.raises(LabelError, match=r"Ensemble.evaluate expects class ids in \[0, 3\).*"
                                         r"y\[2\]=3"):
        lamina.Ensemble(list(soft_pair())).evaluate(X, [0, 1, 3])


@pytest.mark.parametrize("softmax_member", [False, True], ids=["logits", "ends-in-softmax"])
def test_soft_evaluate_is_exact_when_every_member_is_sure_of_the_wrong_class(softmax_member):
    """float32 members whose true-class probability underflows to 0: the loss is the exact
    -log mean p (about 200 here), not a clipped -log(1e-12) = 27.63."""
    logits = np.array([[0.0, 200.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    members = [member(logits, softmax=softmax_member, dtype=np.float32),
               member(logits + 1.0, softmax=softmax_member, dtype=np.float32)]
    result = lamina.Ensemble(members).evaluate(X, [0, 0, 0])
    z = logits.astype(np.float64)
    log_p = z - z.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    assert result["loss"] == pytest.approx(-log_p[:, 0].mean(), rel=1e-5)
    assert result["loss"] > 60
