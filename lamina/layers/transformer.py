"""TransformerEncoderLayer, as torch.nn.TransformerEncoderLayer(batch_first=True)."""

from lamina.errors import ConfigError
from lamina.functional.checks import check_bool, check_dout
from lamina.layers.activation import GELU, ReLU
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.container import Composite
from lamina.layers.dropout import Dropout
from lamina.layers.linear import Linear
from lamina.layers.norm import LayerNorm

ACTIVATIONS = {"relu": ReLU, "gelu": GELU}


class TransformerEncoderLayer(Composite):
    """Self-attention then a position-wise feed-forward block, each with a residual and a
    LayerNorm. x (N, T, d_model) -> same shape:

        sa(x) = dropout1(self_attn(x, x, x)),  ff(x) = dropout2(linear2(dropout(act(linear1(x)))))
        norm_first=False (post-norm):  x = norm1(x + sa(x));  x = norm2(x + ff(x))
        norm_first=True (pre-norm):    x = x + sa(norm1(x));  x = x + ff(norm2(x))

    Sub-layers carry PyTorch's attribute names (self_attn, linear1, dropout, linear2, norm1,
    norm2, dropout1, dropout2); linear1/linear2 keep lamina's (in, out) weight layout and are
    applied to every position. forward(src, src_mask=None, src_key_padding_mask=None,
    is_causal=False) takes MultiHeadAttention's masks.
    """

    child_names = ("self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1",
                   "dropout2", "activation_layer")

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, norm_first=False, name=None):
        if activation not in ACTIVATIONS:
            raise ConfigError(f"TransformerEncoderLayer expects activation as one of "
                              f"{list(ACTIVATIONS)}. Received: activation={activation!r}")
        norm_first = check_bool("TransformerEncoderLayer", "norm_first", norm_first)
        children = [MultiHeadAttention(d_model, nhead, dropout), Linear(d_model, dim_feedforward),
                    Dropout(dropout), Linear(dim_feedforward, d_model),
                    LayerNorm(d_model, layer_norm_eps), LayerNorm(d_model, layer_norm_eps),
                    Dropout(dropout), Dropout(dropout), ACTIVATIONS[activation]()]
        super().__init__(children, name)
        self.d_model, self.nhead, self.dim_feedforward = d_model, nhead, dim_feedforward
        self.dropout_rate, self.activation, self.layer_norm_eps = dropout, activation, layer_norm_eps
        self.norm_first = norm_first

    def get_config(self):
        return {"d_model": self.d_model, "nhead": self.nhead,
                "dim_feedforward": self.dim_feedforward, "dropout": self.dropout_rate,
                "activation": self.activation, "layer_norm_eps": self.layer_norm_eps,
                "norm_first": self.norm_first, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def build(self, input_shape):
        return self.output_shape(input_shape)

    def output_shape(self, input_shape):
        return self.self_attn.output_shape(input_shape)

    # -- computation -------------------------------------------------------------------
    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = self.check_input(src, 3, "(N, T, d_model)", 2, self.d_model)
        masks = dict(attn_mask=src_mask, key_padding_mask=src_key_padding_mask,
                     is_causal=is_causal)
        self._cache = x.shape
        if self.norm_first:
            x = x + self._attention(self.norm1.forward(x), masks)
            return x + self._feed_forward(self.norm2.forward(x))
        x = self.norm1.forward(x + self._attention(x, masks))
        return self.norm2.forward(x + self._feed_forward(x))

    def backward(self, dout):
        dout = check_dout(self.describe(), dout, self._cache)
        if self.norm_first:
            dx = dout + self.norm2.backward(self._feed_forward_backward(dout))
            return dx + self.norm1.backward(self._attention_backward(dx))
        dsum = self.norm2.backward(dout)
        dx = dsum + self._feed_forward_backward(dsum)
        dsum = self.norm1.backward(dx)
        return dsum + self._attention_backward(dsum)

    def _attention(self, x, masks):
        return self.dropout1.forward(self.self_attn.forward(x, **masks))

    def _attention_backward(self, dout):
        return self.self_attn.backward(self.dropout1.backward(dout))

    def _feed_forward(self, x):
        n, steps, e = x.shape
        hidden = self.activation_layer.forward(self.linear1.forward(x.reshape(n * steps, e)))
        out = self.linear2.forward(self.dropout.forward(hidden))
        return self.dropout2.forward(out.reshape(n, steps, e))

    def _feed_forward_backward(self, dout):
        n, steps, e = dout.shape
        dhidden = self.linear2.backward(self.dropout2.backward(dout).reshape(n * steps, e))
        dhidden = self.activation_layer.backward(self.dropout.backward(dhidden))
        return self.linear1.backward(dhidden).reshape(n, steps, e)
