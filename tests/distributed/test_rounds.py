"""What the driver does with a round's results: gradient means and the optimizer step,
rows-weighted averages of local runs, evaluation, and NaN/Inf caught before weights change."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.distributed import DistributedTrainer, LocalEngine
from lamina.errors import NonFiniteError
from tests.distributed.harness import conv_net, data, fit_in_plan_order, max_difference


def train(model, shards, x, y, epochs=2, batch_size=8, **options):
    return DistributedTrainer(model, LocalEngine(num_shards=shards), seed=11, **options).fit(
        x, y, epochs=epochs, batch_size=batch_size, verbose=0)


def test_local_mode_averages_shards_weighted_by_their_rows():
    x, y = data(n=10)
    model, one, two = conv_net(), conv_net(), conv_net()
    # one round of one local step on a whole-data batch: shard p takes a step on its rows
    train(model, 2, x, y, epochs=1, batch_size=10, sync="local")
    one.fit(x[:5], y[:5], epochs=1, batch_size=5, shuffle=False, verbose=0)
    two.fit(x[5:], y[5:], epochs=1, batch_size=5, shuffle=False, verbose=0)
    for averaged, first, second in zip(model.get_weights(), one.get_weights(), two.get_weights()):
        np.testing.assert_allclose(averaged, 0.5 * first + 0.5 * second, rtol=1e-12, atol=1e-15)
    moments = [model.optimizer.state[p]["exp_avg"] for p in model.parameters()]
    expected = [0.5 * one.optimizer.state[p]["exp_avg"] + 0.5 * two.optimizer.state[q]["exp_avg"]
                for p, q in zip(one.parameters(), two.parameters())]
    for got, want in zip(moments, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert model.optimizer.state[model.parameters()[0]]["step"] == 1


def test_running_statistics_of_per_example_norms_are_averaged_exactly_in_step_mode():
    x, y = data()
    norm = lambda: L.InstanceNorm2D(3, affine=True, track_running_stats=True)  # noqa: E731
    distributed, local = conv_net(norm=norm()), conv_net(norm=norm())
    DistributedTrainer(distributed, LocalEngine(3), seed=11).fit(x, y, epochs=2, batch_size=8,
                                                                  verbose=0)
    fit_in_plan_order(local, x, y, seed=11, epochs=2, batch_size=8)
    assert max_difference(distributed, local) < 1e-12
    assert not np.array_equal(distributed.layers[2].running_var, np.ones(3))


def test_evaluate_on_the_shards_equals_model_evaluate():
    x, y = data()
    model = conv_net(regularizer=lamina.regularizers.L2(0.01))
    result = DistributedTrainer(model, LocalEngine(3)).evaluate(x, y)
    expected = model.evaluate(x, y)
    assert result["loss"] == pytest.approx(expected["loss"], rel=1e-12)
    assert result["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-12)


@pytest.mark.parametrize("sync", ["step", "local"])
def test_a_non_finite_step_is_reported_before_the_weights_change(sync):
    x, y = data()
    x[20] = np.inf
    model = conv_net()
    before = model.get_weights()
    with pytest.raises(NonFiniteError, match="NaN or Inf"):
        DistributedTrainer(model, LocalEngine(2), sync=sync, seed=11).fit(
            x, y, epochs=1, batch_size=37, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
