"""lamina.predict_pieces: predict and evaluate run each batch in row pieces on lamina's
threads, bit for bit the same on one thread or several, and whole where a layer mixes rows."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.functional import parallel
from lamina.predict_pieces import MIN_ROWS, PIECE_BYTES, row_pieces


@pytest.fixture
def restore_threads():
    yield
    parallel._chosen = None
    lamina.set_num_threads(parallel.default_threads())
    parallel._chosen = None


@pytest.mark.parametrize("rows, bytes_per_row", [(256, 12288), (257, 3136), (7, 10**9),
                                                 (1, 4), (1000, 4), (33, 2**20)])
def test_pieces_cover_every_row_once_in_order_and_evenly(rows, bytes_per_row):
    pieces = row_pieces(rows, bytes_per_row)
    covered = np.concatenate([np.arange(rows)[part] for part in pieces])
    assert np.array_equal(covered, np.arange(rows))
    sizes = [part.stop - part.start for part in pieces]
    assert max(sizes) - min(sizes) <= 1
    target = max(MIN_ROWS, PIECE_BYTES // bytes_per_row)
    assert len(pieces) == max(1, -(-rows // target))


def _cnn():
    lamina.seed(3)
    model = lamina.Sequential([L.Conv2D(3, 8, 3, padding=1), L.BatchNorm2D(8), L.ReLU(),
                               L.MaxPool2D(2), L.Flatten(), L.Linear(None, 5)])
    model.compile(loss="cross_entropy", optimizer="sgd", metrics=["accuracy"])
    return model


def test_predict_and_evaluate_are_bit_for_bit_the_same_on_one_and_on_three_threads(
        restore_threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((203, 3, 20, 20)).astype(np.float32)  # 4.8 KB a row: 4 pieces
    y = rng.integers(0, 5, 203)
    model = _cnn()
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)  # running statistics not the init's
    assert len(row_pieces(200, x[0].nbytes)) > 1
    results = []
    for threads in (1, 3):
        lamina.set_num_threads(threads)
        results.append((model.predict(x, batch_size=200), model.evaluate(x, y, batch_size=200)))
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
    model.eval()
    whole = model.forward(x)  # one forward over all rows: equal to rounding
    model.train()
    np.testing.assert_allclose(results[0][0], whole, rtol=1e-5, atol=1e-6)


def test_a_graph_model_with_two_inputs_and_two_outputs_is_joined_in_row_order(
        restore_threads):
    rng = np.random.default_rng(1)
    a_in, b_in = lamina.Input((300,), name="a"), lamina.Input((40,), name="b")
    joined = L.Concatenate()([L.Linear(300, 16)(a_in), L.Linear(40, 16)(b_in)])
    model = lamina.Model([a_in, b_in], [L.Linear(32, 3)(joined), L.Linear(32, 1)(joined)])
    a = rng.standard_normal((500, 300)).astype(np.float32)
    b = rng.standard_normal((500, 40)).astype(np.float32)
    lamina.set_num_threads(2)
    outputs = model.predict([a, b], batch_size=500)
    assert len(row_pieces(500, a[0].nbytes + b[0].nbytes)) > 1
    rows = [model.predict([a[k:k + 1], b[k:k + 1]]) for k in (0, 123, 499)]
    for k, row in zip((0, 123, 499), rows):
        for whole, single in zip(outputs, row):
            np.testing.assert_allclose(whole[k:k + 1], single, rtol=1e-5, atol=1e-6)


class CentreRows(L.Layer):
    """Subtracts the batch mean in eval mode too: mixes rows, so says so."""

    rows_independent = False

    def forward(self, x):
        return x - x.mean(axis=0)

    def backward(self, dout):
        return dout - dout.mean(axis=0)


def test_a_layer_that_mixes_rows_makes_predict_run_each_batch_whole(restore_threads):
    x = np.random.default_rng(2).standard_normal((400, 1000)).astype(np.float32)
    model = lamina.Sequential([L.Linear(1000, 4), CentreRows()])
    assert not model.rows_split()
    lamina.set_num_threads(2)
    out = model.predict(x, batch_size=400)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)  # one batch mean, not per piece
    assert np.array_equal(out, model.forward(x))
