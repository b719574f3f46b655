"""Recurrent cells (RNN, LSTM, GRU): one time step, with PyTorch's gate order and layouts.

Every cell splits into an input projection gx = x @ w_ih^T + b_ih, which a whole sequence
computes for all steps in one matmul (lamina.functional.recurrent), and a step over the
hidden state that only adds gh = h @ w_hh^T + b_hh. w_ih: (G, F), w_hh: (G, H) with
G = H (RNN), 4H (LSTM: gates i, f, g, o) or 3H (GRU: gates r, z, n). States are tuples:
(h,) for RNN and GRU, (h, c) for LSTM, each (N, H). A step takes w_hh^T as a contiguous
(H, G) matrix (made once per sequence) and, for RNN and LSTM, may find b_hh already added
to gx (fold_hidden_bias: GRU's n gate needs it apart, inside r * (h W_hn^T + b_hn)).

A step's backward takes the gradients of its new state and returns (dgx, dgh, dprev), the
gradients of gx and gh and the part of the previous state's gradient that does not pass
through gh (the caller adds dgh @ w_hh to dh); `out` may give the array(s) to write them in.
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout, check_float, check_rank

MODES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}  # mode -> gates per hidden unit


def sigmoid(z):
    """1 / (1 + exp(-z)) as 0.5 * (1 + tanh(z / 2)): the same value, no overflow for any z."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def hidden_projection(h, w_t, b):
    """h @ w_t + b: (N, G) for h (N, H), w_t (H, G) (a weight transposed), b (G,) or None."""
    gh = h @ w_t
    if b is not None:
        gh += b
    return gh


def fold_hidden_bias(mode, gx, b_hh):
    """(gx, b_hh) for a step: RNN and LSTM add b_hh into gx once (so no step adds it again),
    GRU keeps it apart. gx may be changed in place."""
    if mode == "gru" or b_hh is None:
        return gx, b_hh
    gx += b_hh
    return gx, None


def _parts(out, count, like):
    """`out` or a fresh array (N, count * H) to write gate gradients in."""
    return np.empty((like.shape[0], count * like.shape[1]), like.dtype) if out is None else out


def _rnn_step(gx, state, w_hh_t, b_hh, relu):
    """h' = act(gx + gh), act = tanh or relu."""
    pre = hidden_projection(state[0], w_hh_t, b_hh)
    pre += gx
    h = np.maximum(pre, 0, out=pre) if relu else np.tanh(pre, out=pre)
    return (h,), (h, relu)


def _rnn_step_backward(dstate, cache, out=None):
    h, relu = cache
    dpre = _parts(out, 1, h)
    np.multiply(dstate[0], (h > 0) if relu else (1 - h * h), out=dpre)
    return dpre, dpre, (None,)


def _lstm_step(gx, state, w_hh_t, b_hh):
    """i, f, o = sigmoid(.), g = tanh(.) of gx + gh (split in 4);  c' = f*c + i*g,
    h' = o * tanh(c')."""
    h, c = state
    gates = hidden_projection(h, w_hh_t, b_hh)
    gates += gx
    size = h.shape[1]
    g = np.tanh(gates[:, 2 * size:3 * size])
    act = sigmoid(gates)  # the g quarter is computed and unused: cheaper than gathering
    i, f, o = act[:, :size], act[:, size:2 * size], act[:, 3 * size:]
    c_new = f * c
    c_new += i * g
    tanh_c = np.tanh(c_new)
    return (o * tanh_c, c_new), (i, f, g, o, c, tanh_c)


def _lstm_step_backward(dstate, cache, out=None):
    """dc = dc' + dh' * o * (1 - tanh(c')^2); dc_prev = dc * f; pre-activation gradients
    di*i(1-i), df*f(1-f), dg*(1-g^2), do*o(1-o) with di = dc*g, df = dc*c, dg = dc*i,
    do = dh' * tanh(c')."""
    i, f, g, o, c, tanh_c = cache
    dh, dc_next = dstate
    size = dh.shape[1]
    dc = dh * o * (1 - tanh_c * tanh_c)
    if dc_next is not None:
        dc += dc_next
    dgates = _parts(out, 4, dh)
    np.multiply(dc * g, i * (1 - i), out=dgates[:, :size])
    np.multiply(dc * c, f * (1 - f), out=dgates[:, size:2 * size])
    np.multiply(dc * i, 1 - g * g, out=dgates[:, 2 * size:3 * size])
    np.multiply(dh * tanh_c, o * (1 - o), out=dgates[:, 3 * size:])
    return dgates, dgates, (None, dc * f)


def _gru_step(gx, state, w_hh_t, b_hh):
    """r, z = sigmoid(gx + gh) (first two thirds), n = tanh(gx_n + r * gh_n),
    h' = (1 - z) * n + z * h."""
    h = state[0]
    gh = hidden_projection(h, w_hh_t, b_hh)
    size = h.shape[1]
    rz = sigmoid(gx[:, :2 * size] + gh[:, :2 * size])
    r, z = rz[:, :size], rz[:, size:]
    gh_n = gh[:, 2 * size:]
    n = np.tanh(gx[:, 2 * size:] + r * gh_n)
    return (n + z * (h - n),), (r, z, n, gh_n, h)


def _gru_step_backward(dstate, cache, out=None):
    r, z, n, gh_n, h = cache
    dh = dstate[0]
    size = dh.shape[1]
    dgx, dgh = (_parts(None, 3, dh), _parts(None, 3, dh)) if out is None else out
    dn_pre = dh * (1 - z) * (1 - n * n)
    np.multiply(dn_pre * gh_n, r * (1 - r), out=dgx[:, :size])
    np.multiply(dh * (h - n), z * (1 - z), out=dgx[:, size:2 * size])
    dgx[:, 2 * size:] = dn_pre
    dgh[:, :2 * size] = dgx[:, :2 * size]
    np.multiply(dn_pre, r, out=dgh[:, 2 * size:])
    return dgx, dgh, (dh * z,)


def step(mode, gx, state, w_hh_t, b_hh):
    """One step of `mode` from the input projection gx (N, G) with w_hh_t = w_hh^T (H, G):
    (new state, cache)."""
    if mode == "lstm":
        return _lstm_step(gx, state, w_hh_t, b_hh)
    if mode == "gru":
        return _gru_step(gx, state, w_hh_t, b_hh)
    return _rnn_step(gx, state, w_hh_t, b_hh, mode == "rnn_relu")


def step_backward(mode, dstate, cache, out=None):
    """(dgx, dgh, dprev) of one step; see the module docstring. out: an (N, G) array to
    write dgx (= dgh) in, or for GRU a pair (dgx, dgh)."""
    if mode == "lstm":
        return _lstm_step_backward(dstate, cache, out)
    if mode == "gru":
        return _gru_step_backward(dstate, cache, out)
    return _rnn_step_backward(dstate, cache, out)


def check_mode(op, mode):
    if mode not in MODES:
        raise ConfigError(f"{op} expects mode as one of {list(MODES)}. Received: mode={mode!r}")
    return mode


def check_weights(op, mode, inputs, w_ih, w_hh, b_ih, b_hh):
    """w_ih (G, F), w_hh (G, H), biases (G,) or None, G = gates * H; returns (F, H)."""
    check_rank(op, "w_ih", w_ih, 2, "(gates * hidden_size, input_size)")
    check_rank(op, "w_hh", w_hh, 2, "(gates * hidden_size, hidden_size)")
    size = w_hh.shape[1]
    gates = MODES[mode] * size
    if w_ih.shape[0] != gates or w_hh.shape[0] != gates or w_ih.shape[1] != inputs:
        raise ShapeError(f"{op} ({mode}) expects w_ih ({gates}, {inputs}) and w_hh ({gates}, "
                         f"{size}) for {inputs} input features and hidden size {size}. "
                         f"Received: w_ih.shape={w_ih.shape}, w_hh.shape={w_hh.shape}")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and b.shape != (gates,):
            raise ShapeError(f"{op} expects {name} of shape ({gates},). "
                             f"Received: {name}.shape={b.shape}")
    return size


def check_state(op, mode, state, n, size):
    """state as a tuple of (N, H) float arrays: h, or (h, c) for LSTM."""
    parts = ("h", "c") if mode == "lstm" else ("h",)
    if mode == "lstm" and not (isinstance(state, (tuple, list)) and len(state) == 2):
        raise ShapeError(f"{op} (lstm) expects the state as a pair (h, c). "
                         f"Received: {type(state).__name__}")
    state = tuple(state) if mode == "lstm" else (state,)
    state = tuple(check_float(op, **{name: value}) for name, value in zip(parts, state))
    for name, value in zip(parts, state):
        if value.shape != (n, size):
            raise ShapeError(f"{op} expects {name} of shape (N, hidden_size) = ({n}, {size}). "
                             f"Received: {name}.shape={value.shape}")
    return state


def _cell_forward(mode, x, state, w_ih, w_hh, b_ih, b_hh):
    op = f"{mode.split('_')[0]}_cell_forward"
    x, w_ih, w_hh, b_ih, b_hh = check_float(op, optional=("b_ih", "b_hh"), x=x, w_ih=w_ih,
                                            w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
    check_rank(op, "x", x, 2, "(N, input_size)")
    size = check_weights(op, mode, x.shape[1], w_ih, w_hh, b_ih, b_hh)
    state = check_state(op, mode, state, x.shape[0], size)
    gx, b_step = fold_hidden_bias(mode, hidden_projection(x, w_ih.T, b_ih), b_hh)
    new, cache = step(mode, gx, state, np.ascontiguousarray(w_hh.T), b_step)
    out = new if mode == "lstm" else new[0]
    return out, (mode, x, state[0], w_ih, w_hh, b_ih is not None, b_hh is not None, cache)


def _cell_backward(dnew, cache):
    mode, x, h, w_ih, w_hh, has_b_ih, has_b_hh, step_cache = cache
    op = f"{mode.split('_')[0]}_cell_backward"
    if mode == "lstm":
        dnew = tuple(dnew) if isinstance(dnew, (tuple, list)) else (dnew, None)
        dstate = tuple(None if d is None else check_dout(op, d, h.shape) for d in dnew)
        dstate = dstate if dstate[0] is not None else (np.zeros_like(h),) + dstate[1:]
    else:
        dstate = (check_dout(op, dnew, h.shape),)
    dgx, dgh, dprev = step_backward(mode, dstate, step_cache)
    dh = dgh @ w_hh + (0 if dprev[0] is None else dprev[0])
    grads = (dgx @ w_ih, (dh, dprev[1]) if mode == "lstm" else dh, dgx.T @ x, dgh.T @ h,
             dgx.sum(axis=0) if has_b_ih else None, dgh.sum(axis=0) if has_b_hh else None)
    return grads


def rnn_cell_forward(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """Elman cell, as torch.nn.RNNCell: h' = act(x @ w_ih^T + b_ih + h @ w_hh^T + b_hh).

    x: (N, F), h: (N, H), w_ih: (H, F), w_hh: (H, H), biases (H,) or None -> h' (N, H).
    act is tanh or relu (nonlinearity).
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ConfigError(f"rnn_cell_forward expects nonlinearity 'tanh' or 'relu'. "
                          f"Received: nonlinearity={nonlinearity!r}")
    return _cell_forward(f"rnn_{nonlinearity}", x, h, w_ih, w_hh, b_ih, b_hh)


def lstm_cell_forward(x, state, w_ih, w_hh, b_ih, b_hh):
    """LSTM cell, as torch.nn.LSTMCell; state (h, c) -> (h', c'), gates i, f, g, o:

        [i f g o] = x @ w_ih^T + b_ih + h @ w_hh^T + b_hh,   w_ih: (4H, F), w_hh: (4H, H)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g),        h' = sigmoid(o) * tanh(c')
    """
    return _cell_forward("lstm", x, state, w_ih, w_hh, b_ih, b_hh)


def gru_cell_forward(x, h, w_ih, w_hh, b_ih, b_hh):
    """GRU cell, as torch.nn.GRUCell; gates r, z, n with w_ih: (3H, F), w_hh: (3H, H):

        r = sigmoid(x W_ir + b_ir + h W_hr + b_hr),  z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
        n = tanh(x W_in + b_in + r * (h W_hn + b_hn)),  h' = (1 - z) * n + z * h
    """
    return _cell_forward("gru", x, h, w_ih, w_hh, b_ih, b_hh)


def rnn_cell_backward(dh_new, cache):
    """(dx, dh, dw_ih, dw_hh, db_ih, db_hh) of rnn_cell_forward, summed over the batch."""
    return _cell_backward(dh_new, cache)


def lstm_cell_backward(dstate_new, cache):
    """dstate_new = (dh', dc') (or dh' alone: dc' = 0) -> (dx, (dh, dc), dw_ih, dw_hh, db_ih,
    db_hh), summed over the batch; with sigmoid(.) of the gates written i, f, o and tanh(g) as g:

        dc_total = dc' + dh' * o * (1 - tanh(c')^2),   dc = dc_total * f
        d[i f g o] = [dc_total * g * i(1-i), dc_total * c * f(1-f), dc_total * i * (1-g^2),
                      dh' * tanh(c') * o(1-o)],   dh = d[i f g o] @ w_hh,   dx = d[i f g o] @ w_ih
    """
    return _cell_backward(dstate_new, cache)


def gru_cell_backward(dh_new, cache):
    """(dx, dh, dw_ih, dw_hh, db_ih, db_hh) of gru_cell_forward, summed over the batch:

        dn_pre = dh' * (1 - z) * (1 - n^2),   dz_pre = dh' * (h - n) * z(1-z),
        dr_pre = dn_pre * (h W_hn + b_hn) * r(1-r),   dh = dh' * z + dgh @ w_hh
    where dgh = [dr_pre, dz_pre, dn_pre * r] are the gradients of h @ w_hh^T + b_hh.
    """
    return _cell_backward(dh_new, cache)
