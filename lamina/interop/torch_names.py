"""Where each lamina parameter and buffer sits in the equivalent torch module's state_dict().

Containers keep their children's keys: a Sequential's positions ("3.weight", as
torch.nn.Sequential; a layer without weights, such as Flatten, ReLU or Dropout, still takes
its index there, as the same torch module would), a graph Model's layer names, a Composite's
attribute names ("block.0.weight", "self_attn.in_proj_weight"). TimeDistributed adds no key:
the torch equivalent of TimeDistributed(Linear) is the nn.Linear itself. A Dense with an
activation is one lamina layer where torch.nn.Sequential takes two (Linear, then the
activation): use Linear and an activation layer for indices that line up.

Within a layer, names and layouts are those of torch.nn's module (the recurrent layers and the
convolutions, ConvTranspose2D's (in, out/groups, KH, KW) included, already are), except:

    Linear, Dense        weight (in, out)  <->  weight (out, in)  (transposed)
    batch, layer, group
    and instance norms   gamma, beta       <->  weight, bias
    MultiHeadAttention   out_proj_weight   <->  out_proj.weight   (and out_proj_bias)

and torch's num_batches_tracked (an int64 scalar, which lamina does not keep) follows every
running_mean. A layer torch has no module for (SeparableConv2D, PositionalEmbedding, a user's
layer) keeps lamina's names.
"""

from typing import Callable, NamedTuple, Optional

import numpy as np

from lamina import layers as L
from lamina.layers.container import Container


class TorchEntry(NamedTuple):
    """One key of torch's state_dict(): the key lamina's state_dict() has for it (None for a
    torch-only buffer) and the layout conversion between the two, its own inverse."""

    key: Optional[str]
    torch_key: str
    convert: Optional[Callable]


def same(array):
    return array


def transposed(array):
    """Linear's (in, out) weight <-> torch's (out, in)."""
    return array.T


# layer class -> {lamina name: (torch name, conversion)}; names not listed stay as they are
_NORM = {"gamma": ("weight", same), "beta": ("bias", same)}
RENAMED = {
    L.Linear: {"weight": ("weight", transposed)},
    **{norm: _NORM for norm in (L.BatchNorm1D, L.BatchNorm2D, L.LayerNorm, L.GroupNorm,
                                L.InstanceNorm2D)},
    L.MultiHeadAttention: {"out_proj_weight": ("out_proj.weight", same),
                           "out_proj_bias": ("out_proj.bias", same)},
}

# the torch-only buffer beside every running_mean (batch norms, tracking instance norms)
NUM_BATCHES_TRACKED = "num_batches_tracked"


def num_batches_tracked():
    """torch counts the batches a norm has seen and reads the count only with momentum=None
    (lamina's momentum is always a number): lamina keeps none and writes 0."""
    return np.array(0, np.int64)


def renamed(layer):
    """The RENAMED row of `layer`'s class or of its nearest base class that has one."""
    return next((RENAMED[cls] for cls in type(layer).__mro__ if cls in RENAMED), {})


def torch_child_key(container, child):
    """The key torch's module gives `child` of `container`; "" when the child stands in its
    container's place (TimeDistributed)."""
    return "" if isinstance(container, L.TimeDistributed) else container.child_key(child)


def torch_layers(layer, prefix="", torch_prefix=""):
    """(lamina prefix, torch prefix, leaf layer) for every layer without children inside
    `layer`, in order: the prefixes its keys carry in the two state dicts."""
    if not isinstance(layer, Container):
        yield prefix, torch_prefix, layer
        return
    for child in layer.layers:
        key = torch_child_key(layer, child)
        yield from torch_layers(child, f"{prefix}{layer.child_key(child)}.",
                                f"{torch_prefix}{key}." if key else torch_prefix)


def torch_entries(model):
    """A TorchEntry for every key of the torch module's state_dict(), in torch's order: layer
    by layer, its parameters, then its buffers, then num_batches_tracked where torch has it."""
    entries = []
    for prefix, torch_prefix, layer in torch_layers(model):
        rows = renamed(layer)
        names = [name for name, _ in layer.named_parameters()] + list(layer.buffers())
        for name in names:
            torch_name, convert = rows.get(name, (name, same))
            entries.append(TorchEntry(prefix + name, torch_prefix + torch_name, convert))
        if "running_mean" in names:
            entries.append(TorchEntry(None, torch_prefix + NUM_BATCHES_TRACKED, None))
    return entries
