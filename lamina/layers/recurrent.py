"""Recurrent layers RNN, LSTM and GRU: PyTorch's constructor, names and layouts, batch first.

Parameters per layer l and direction: weight_ih_l{l}, weight_hh_l{l}, bias_ih_l{l},
bias_hh_l{l} (suffix _reverse for the backward direction), shaped (G, F), (G, H), (G,) with
G = H, 4H (LSTM) or 3H (GRU), drawn from U(-1/sqrt(H), 1/sqrt(H)) as PyTorch's: a torch
state dict copies across by name. See functional.recurrent_forward for the math.
"""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional import dropout as dropout_kernels
from lamina.functional import recurrent as F
from lamina.functional.checks import check_bool, check_dout, check_float, check_real
from lamina.functional.recurrent_cells import MODES
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text

WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class _Recurrent(Layer):
    """x (N, T, input_size) -> (N, T, D*H) (return_sequences) or (N, D*H) (the last valid
    step forward, step 0 backward, per direction), D = 2 if bidirectional else 1.

    forward(x, initial_state=None, lengths=None): initial_state h0 (num_layers*D, N, H),
    or (h0, c0) for LSTM; lengths (N,) as pack_padded_sequence. return_state=True returns
    (out, h_n) or (out, (h_n, c_n)), PyTorch's layout. backward(dout, dstate=None) takes the
    gradient of the output and, optionally, of the returned state; it returns dx and keeps
    the initial state's gradient (zeros without one) in ``initial_state_grad``. dropout
    applies to every layer's output but the last, in training, as PyTorch's.
    """

    size_argument = "input_size"
    mode = None

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 bidirectional=False, return_sequences=True, return_state=False, name=None):
        super().__init__(name)
        self.input_size = self.check_size("input_size", input_size, allow_none=True)
        self.hidden_size = self.check_size("hidden_size", hidden_size)
        self.num_layers = self.check_size("num_layers", num_layers)
        owner = type(self).__name__
        bias, bidirectional, return_sequences, return_state = (
            check_bool(owner, flag, value) for flag, value in
            (("bias", bias), ("bidirectional", bidirectional),
             ("return_sequences", return_sequences), ("return_state", return_state)))
        dropout = check_real(owner, "dropout", dropout, 0, 1)
        self.bias, self.dropout, self.bidirectional = bias, dropout, bidirectional
        self.return_sequences, self.return_state = return_sequences, return_state
        self.directions = 2 if bidirectional else 1
        self.param_names = ()  # named as they are made, in build: num_layers may be a lie
        self.initial_state_grad = None
        self.build_when_known(self.input_size)

    def build(self, input_shape):
        if self.input_size is None:
            self.check_shape(input_shape, 3, "(N, T, input_size)")
            self.input_size = self.check_size("input_size", input_shape[-1])
        size, gates = self.hidden_size, MODES[self.mode] * self.hidden_size
        names = []
        for layer in range(self.num_layers):
            inputs = self.input_size if layer == 0 else size * self.directions
            for suffix in ("", "_reverse")[:self.directions]:
                for weight in (WEIGHTS if self.bias else WEIGHTS[:2]):
                    name = f"{weight}_l{layer}{suffix}"
                    shape = (gates, inputs if "_ih" in name else size) \
                        if name.startswith("w") else (gates,)
                    setattr(self, name, self.new_parameter(name, shape, "torch_uniform",
                                                           fan_in=size))
                    names.append(name)
        self.param_names = tuple(names)
        self.built = True

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 3, "(N, T, input_size)", 2, self.input_size)
        width = self.hidden_size * self.directions
        return (input_shape[0], input_shape[1], width) if self.return_sequences \
            else (input_shape[0], width)

    # -- computation -------------------------------------------------------------------
    def forward(self, x, initial_state=None, lengths=None):
        x = self.check_input(x, 3, "(N, T, input_size)", 2, self.input_size)
        if not self.built:
            self.build(x.shape)
        n, size = x.shape[0], self.hidden_size
        lengths = None if lengths is None else F.check_lengths(self.describe(), lengths, n,
                                                               x.shape[1])
        states = self._initial_states(initial_state, n, x.dtype)
        caches, finals, inputs = [], [], x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.directions):
                index = layer * self.directions + direction
                state = states[index] if self.mode == "lstm" else states[index][0]
                out, final, cache = F.recurrent_forward(
                    inputs, state, *self._weights(layer, direction), mode=self.mode,
                    lengths=lengths, reverse=direction == 1)
                outputs.append(out)
                finals.append(final)
                caches.append(cache)
            inputs = outputs[0] if self.directions == 1 else np.concatenate(outputs, axis=2)
            dropout_cache = None
            if self.dropout and self.training and layer < self.num_layers - 1:
                inputs, dropout_cache = dropout_kernels.dropout_forward(inputs, self.dropout)
            caches.append(dropout_cache)
        self._cache = (caches, x.shape, initial_state is not None)
        h_n = np.stack([final[0] for final in finals])
        state = (h_n, np.stack([final[1] for final in finals])) if self.mode == "lstm" else h_n
        out = inputs if self.return_sequences else np.concatenate(
            list(h_n[-self.directions:]), axis=1)
        return (out, state) if self.return_state else out

    def backward(self, dout, dstate=None):
        caches, x_shape, _ = self._cache
        n, steps, _ = x_shape
        size, width = self.hidden_size, self.hidden_size * self.directions
        count = self.num_layers * self.directions
        where = self.describe()
        dfinal = self._state_grads(dstate, count, n)
        if self.return_sequences:
            dinputs = check_dout(where, dout, (n, steps, width))
        else:
            dout = check_dout(where, dout, (n, width))
            dinputs = np.zeros((n, steps, width), dout.dtype)
            for direction in range(self.directions):
                dfinal[0][count - self.directions + direction] += \
                    dout[:, direction * size:(direction + 1) * size]
        dinitial = [np.zeros_like(part) for part in dfinal]
        for layer in range(self.num_layers - 1, -1, -1):
            per_layer = caches[layer * (self.directions + 1):(layer + 1) * (self.directions + 1)]
            if per_layer[-1] is not None:
                dinputs = dropout_kernels.dropout_backward(dinputs, per_layer[-1])
            dx = None
            for direction in range(self.directions):
                index = layer * self.directions + direction
                grads = F.recurrent_backward(
                    dinputs[..., direction * size:(direction + 1) * size], per_layer[direction],
                    tuple(part[index] for part in dfinal))
                dx = grads[0] if dx is None else dx + grads[0]
                for part, value in zip(dinitial, grads[1]):
                    part[index] = value
                for name, grad in zip(self._names(layer, direction), grads[2:]):
                    if grad is not None:
                        getattr(self, name).accumulate(grad)
            dinputs = dx
        self.initial_state_grad = tuple(dinitial) if self.mode == "lstm" else dinitial[0]
        return dinputs

    # -- helpers -----------------------------------------------------------------------
    def _names(self, layer, direction):
        suffix = "_reverse" if direction else ""
        return [f"{weight}_l{layer}{suffix}" for weight in WEIGHTS]

    def _weights(self, layer, direction):
        return [None if (p := getattr(self, name, None)) is None else p.data
                for name in self._names(layer, direction)]

    def _initial_states(self, initial_state, n, dtype):
        """Per layer and direction, the initial state tuple ((h,) or (h, c)), zeros by default."""
        count, size = self.num_layers * self.directions, self.hidden_size
        parts = ("h0", "c0") if self.mode == "lstm" else ("h0",)
        if initial_state is None:
            zeros = np.zeros((count, n, size), dtype)
            stacked = [zeros] * len(parts)
        else:
            if self.mode == "lstm" and not (isinstance(initial_state, (tuple, list))
                                            and len(initial_state) == 2):
                raise self.shape_error("initial_state as a pair (h0, c0)",
                                       type(initial_state).__name__)
            given = tuple(initial_state) if self.mode == "lstm" else (initial_state,)
            stacked = [check_float(self.describe(), **{part: value})
                       for part, value in zip(parts, given)]
            for part, value in zip(parts, stacked):
                if value.shape != (count, n, size):
                    raise self.shape_error(
                        f"{part} of shape (num_layers * directions, N, hidden_size) = "
                        f"{(count, n, size)}", shape_text(f"{part}.shape", value.shape))
        return [tuple(part[i] for part in stacked) for i in range(count)]

    def _state_grads(self, dstate, count, n):
        """The returned state's gradients as a list of (count, N, H) arrays (zeros if None)."""
        parts = 2 if self.mode == "lstm" else 1
        shape = (count, n, self.hidden_size)
        dtype = self.param_dtype()
        if dstate is None:
            return [np.zeros(shape, dtype) for _ in range(parts)]
        given = tuple(dstate) if self.mode == "lstm" else (dstate,)
        return [np.array(check_dout(self.describe(), d, shape), copy=True) for d in given]

    def param_dtype(self):
        return getattr(self, self.param_names[0]).data.dtype


class RNN(_Recurrent):
    """Elman RNN, as torch.nn.RNN(batch_first=True): h_t = act(x_t W_ih^T + b_ih + h W_hh^T
    + b_hh), act = tanh or relu (nonlinearity)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 dropout=0.0, bidirectional=False, return_sequences=True, return_state=False,
                 name=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"RNN expects nonlinearity 'tanh' or 'relu'. "
                              f"Received: nonlinearity={nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.mode = f"rnn_{nonlinearity}"
        super().__init__(input_size, hidden_size, num_layers, bias, dropout, bidirectional,
                         return_sequences, return_state, name)


class LSTM(_Recurrent):
    """Long short-term memory, as torch.nn.LSTM(batch_first=True); gates i, f, g, o."""

    mode = "lstm"


class GRU(_Recurrent):
    """Gated recurrent unit, as torch.nn.GRU(batch_first=True); gates r, z, n."""

    mode = "gru"
