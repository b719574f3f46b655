"""RNN, LSTM and GRU as ONNX's RNN / LSTM / GRU operators, one per lamina layer (l), with
both directions in one operator when bidirectional.

ONNX runs time first: x (N, T, F) is transposed to (T, N, F), and Y (T, D, N, H) back to
(N, T, D*H). Gates are reordered from PyTorch's to ONNX's: LSTM i, f, g, o -> i, o, f, c;
GRU r, z, n -> z, r, h, with linear_before_reset=1 (PyTorch applies the reset gate to
W_hn h + b_hn). Since the reordered and stacked weights are not lamina's arrays, their
initializers are named "<layer path>onnx_W_l<l>" (and R, B) rather than after a parameter.
return_sequences=False gives the last layer's final states (Y_h), directions side by side.
"""

import numpy as np

from lamina.interop.onnx_ops.registry import converts
from lamina.layers import recurrent as R

OPERATORS = {R.RNN: "RNN", R.LSTM: "LSTM", R.GRU: "GRU"}
GATE_ORDER = {R.RNN: [0], R.LSTM: [0, 3, 1, 2], R.GRU: [1, 0, 2]}


def _reordered(array, order, hidden):
    """array (G*H, ...) with PyTorch's gate blocks -> the same blocks in ONNX's `order`."""
    blocks = array.reshape((len(order), hidden) + array.shape[1:])
    return blocks[order].reshape(array.shape)


def _layer_weights(layer, index, order):
    """ONNX's W (D, G*H, F), R (D, G*H, H) and B (D, 2*G*H) (None without bias) of layer `index`."""
    hidden, ws, rs, bs = layer.hidden_size, [], [], []
    for suffix in ("", "_reverse")[:layer.directions]:
        w_ih, w_hh, b_ih, b_hh = (None if (p := getattr(layer, f"{name}_l{index}{suffix}", None))
                                  is None else p.data for name in R.WEIGHTS)
        ws.append(_reordered(w_ih, order, hidden))
        rs.append(_reordered(w_hh, order, hidden))
        if b_ih is not None:
            bs.append(np.concatenate([_reordered(b_ih, order, hidden),
                                      _reordered(b_hh, order, hidden)]))
    return np.stack(ws), np.stack(rs), (np.stack(bs) if bs else None)


@converts(*OPERATORS)
def recurrent(g, layer, inputs, shapes, prefix):
    cls, hidden = type(layer), layer.hidden_size
    options = dict(hidden_size=hidden, direction="bidirectional" if layer.bidirectional
                   else "forward")
    if cls is R.GRU:
        options["linear_before_reset"] = 1
    if cls is R.RNN:
        options["activations"] = [layer.nonlinearity.capitalize()] * layer.directions
    sequence = g.node("Transpose", [inputs[0]], perm=[1, 0, 2])  # (T, N, F)
    for index in range(layer.num_layers):
        w, r, b = _layer_weights(layer, index, GATE_ORDER[cls])
        names = [g.param(f"{prefix}onnx_{what}_l{index}", array)
                 for what, array in (("W", w), ("R", r), ("B", b)) if array is not None]
        outputs = 3 if cls is R.LSTM else 2
        y, y_h = g.node(OPERATORS[cls], [sequence, *names], outputs=outputs,
                        name=f"{prefix}{layer.name}_l{index}", **options)[:2]
        # (T, D, N, H) -> (T, N, D*H): the next layer's input, directions side by side
        sequence = g.reshape(g.node("Transpose", [y], perm=[0, 2, 1, 3]), [0, 0, -1])
    if layer.return_sequences:
        return g.node("Transpose", [sequence], perm=[1, 0, 2], name=prefix + layer.name)
    return g.reshape(g.node("Transpose", [y_h], perm=[1, 0, 2]), [0, -1])
