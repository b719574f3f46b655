import numpy as np
import pytest

from lamina.errors import ConfigError, ShapeError
from lamina.functional.recurrent import recurrent_backward, recurrent_forward
from lamina.functional.recurrent_cells import (gru_cell_backward, gru_cell_forward,
                                               lstm_cell_backward, lstm_cell_forward,
                                               rnn_cell_backward, rnn_cell_forward)
from lamina.gradcheck import check_kernel

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
N, T, F, H = 3, 4, 2, 3


def weights(rng, mode, bias=True):
    g = GATES[mode] * H
    return [rng.standard_normal((g, F)) * 0.5, rng.standard_normal((g, H)) * 0.5,
            rng.standard_normal(g) * 0.5 if bias else None,
            rng.standard_normal(g) * 0.5 if bias else None]


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, np.array([4, 1, 2])])
def test_sequence_gradcheck(rng, mode, reverse, lengths):
    """Input, initial state(s) and every weight, with a loss on the outputs and the final h."""
    lstm = mode == "lstm"
    arrays = [rng.standard_normal((N, T, F)), rng.standard_normal((N, H))]
    arrays += [rng.standard_normal((N, H))] if lstm else []
    arrays += weights(rng, mode)
    dh_final = rng.standard_normal((N, H))

    def forward(x, h0, *rest):
        state, rest = ((h0, rest[0]), rest[1:]) if lstm else (h0, rest)
        out, final, cache = recurrent_forward(x, state, *rest, mode=mode, lengths=lengths,
                                              reverse=reverse)
        # one output, so check_kernel's loss sees both the sequence and the final state
        return np.concatenate([out.reshape(N, -1), final[0]], axis=1), cache

    def backward(dout, cache):
        dx, dstate, *grads = recurrent_backward(dout[:, :-H].reshape(N, T, H), cache,
                                                dout[:, -H:])
        return (dx, *dstate, *grads)

    dout = np.concatenate([rng.standard_normal((N, T * H)), dh_final], axis=1)
    check_kernel(forward, backward, arrays, dout=dout, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("forward, backward, mode", [
    (lambda *a: rnn_cell_forward(*a, nonlinearity="tanh"), rnn_cell_backward, "rnn_tanh"),
    (rnn_cell_forward, rnn_cell_backward, "rnn_tanh"),
    (gru_cell_forward, gru_cell_backward, "gru"),
])
def test_cell_gradcheck(rng, forward, backward, mode):
    x, h = rng.standard_normal((N, F)), rng.standard_normal((N, H))
    check_kernel(forward, backward, [x, h, *weights(rng, mode)])


def test_lstm_cell_gradcheck(rng):
    x, h, c = (rng.standard_normal(s) for s in [(N, F), (N, H), (N, H)])
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def forward(x, h, c, *w):
        (h_new, c_new), cache = lstm_cell_forward(x, (h, c), *w)
        return np.concatenate([h_new, c_new], axis=1), cache

    def backward(dout, cache):
        dx, (dh, dc), *grads = lstm_cell_backward((dout[:, :H], dout[:, H:]), cache)
        return (dx, dh, dc, *grads)

    check_kernel(forward, backward, [x, h, c, *weights(rng, "lstm")],
                 dout=np.concatenate([dh, dc], axis=1))


def test_the_cell_is_one_step_of_the_sequence(rng):
    w = weights(rng, "gru", bias=False)
    x, h = rng.standard_normal((N, 1, F)), rng.standard_normal((N, H))
    out, final, _ = recurrent_forward(x, h, *w, mode="gru")
    cell, _ = gru_cell_forward(x[:, 0], h, *w)
    np.testing.assert_allclose(out[:, 0], cell, rtol=1e-13)
    np.testing.assert_allclose(final[0], cell, rtol=1e-13)


def test_padding_steps_output_zero_and_keep_the_state(rng):
    w = weights(rng, "lstm")
    x = rng.standard_normal((2, 5, F))
    state = (np.zeros((2, H)), np.zeros((2, H)))
    out, final, _ = recurrent_forward(x, state, *w, mode="lstm", lengths=np.array([5, 2]))
    short, short_final, _ = recurrent_forward(x[1:, :2], (state[0][1:], state[1][1:]), *w,
                                              mode="lstm")
    assert np.all(out[1, 2:] == 0)
    np.testing.assert_allclose(out[1, :2], short[0], rtol=1e-13)
    np.testing.assert_allclose(final[0][1], short_final[0][0], rtol=1e-13)


@pytest.mark.parametrize("lengths, message", [
    (np.array([4, 5, 1]), r"\[1, 4\].*lengths\[1\]=5"),
    (np.array([4, 0, 1]), r"lengths\[1\]=0"),
    (np.array([4, 1]), "3 integers"),
    (np.array([4.0, 1.0, 2.0]), "integers"),
])
def test_bad_lengths(rng, lengths, message):
    with pytest.raises(ShapeError, match=message):
        recurrent_forward(np.zeros((N, T, F)), np.zeros((N, H)), *weights(rng, "gru"),
                          mode="gru", lengths=lengths)


def test_bad_shapes_and_mode(rng):
    w = weights(rng, "gru")
    with pytest.raises(ShapeError, match=r"3 dimensions \(N, T, input_size\).*\(3, 4\)"):
        recurrent_forward(np.zeros((N, T)), np.zeros((N, H)), *w, mode="gru")
    with pytest.raises(ShapeError, match="w_ih"):
        recurrent_forward(np.zeros((N, T, F + 1)), np.zeros((N, H)), *w, mode="gru")
    with pytest.raises(ShapeError, match=r"h of shape .*\(3, 3\)"):
        recurrent_forward(np.zeros((N, T, F)), np.zeros((N, H + 1)), *w, mode="gru")
    with pytest.raises(ConfigError, match="mode"):
        recurrent_forward(np.zeros((N, T, F)), np.zeros((N, H)), *w, mode="elman")
