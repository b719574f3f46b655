"""tinynet's API on lamina: code written for tinynet runs with ``tinynet.`` replaced by
``lamina.compat.tinynet.``.

    from lamina.compat.tinynet.layers import Conv2D, Flatten, Linear, MaxPool2D, ReLu, Softmax

    conv = Conv2D('conv1', (1, 28, 28), n_filter=8, h_filter=3, w_filter=3, stride=1, padding=1)
    out = conv.forward(x)                  # x: (N, 1, 28, 28) -> (N, 8, 28, 28)
    dx = conv.backward(dout)               # fills conv.weight.gradient, conv.bias.gradient
    conv.weight.tensor -= 0.01 * conv.weight.gradient

tinynet name                                   lamina
layers.Conv2D(name, input_dim, n_filter,       layers.Conv2D(C, n_filter, (h, w), stride,
    h_filter, w_filter, stride, padding)           padding)
layers.Deconv2D(name, input_dim, n_filters,    layers.ConvTranspose2D(C, n_filters, (h, w),
    h_filter, w_filter, stride, dilation,          stride, padding, dilation=dilation)
    padding)
layers.Dropout(name, probability)              layers.Dropout(p=1 - probability)
layers.Flatten(name)                           layers.Flatten()
layers.Linear(name, input_dim, output_dim)     layers.Linear(input_dim, output_dim)
layers.MaxPool2D(name, input_dim, size,        layers.MaxPool2D(size, stride,
    stride, return_index)                          return_index=return_index)
layers.ReLu(name)                              layers.ReLU()
layers.Softmax(name, axis, eps)                layers.Softmax(axis); backward passes through
losses.cross_entropy_with_softmax_loss         functional.softmax_cross_entropy
losses.mse_loss                                functional.mse_loss

Each layer computes with its lamina layer (``layer.lamina_layer``); ``layer.weight`` and
``layer.bias`` are Parameters whose ``tensor`` and ``gradient`` are that layer's arrays.
backward(in_gradient) returns the input gradient and *replaces* each parameter's gradient.

Where tinynet's documentation is silent, the adapters do what tinynet's code meant, and say
so where it matters: input_dim is (C, H, W) and forward checks it; Dropout's probability
is the chance of keeping a unit; MaxPool2D's indices are flat within each H*W plane, as
PyTorch's; Deconv2D is PyTorch's ConvTranspose2d, with a real backward (tinynet's returned
its input); weights are drawn by lamina's default initialiser (Glorot uniform), biases 0.
"""

from lamina.compat.tinynet import layers, losses

__all__ = ["layers", "losses"]
