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
    stride, return_index)                          return_index=return_index); indices
                                                   window-local, as tinynet's
layers.MaxUnpool2D(name, input_dim, size,      layers.MaxUnpool2D(size, stride)
    stride); forward(input, max_indices)
layers.ReLu(name)                              layers.ReLU()
layers.Softmax(name, axis, eps)                layers.Softmax(axis); backward passes through
losses.cross_entropy_with_softmax_loss         functional.softmax_cross_entropy
losses.mse_loss                                functional.mse_loss

Each layer computes with its lamina layer (``layer.lamina_layer``); ``layer.weight`` and
``layer.bias`` are Parameters whose ``tensor`` and ``gradient`` are that layer's arrays.
backward(in_gradient) returns the input gradient and *replaces* each parameter's gradient.

As in tinynet's code: input_dim is (C, H, W) and forward checks it; Dropout's probability
is the chance of keeping a unit, and it drops on every forward (``eval()`` turns it off);
Softmax's backward returns in_gradient unchanged, since cross_entropy_with_softmax_loss
already returns the gradient at the softmax's input, (p - y) / N; MaxPool2D's indices are
each maximum's position within its own window, row-major (0 .. h*w - 1), which MaxUnpool2D
reads; a Deconv2D takes a Conv2D's weight (F, C, h, w) to map F channels back to C.

Where the adapter deliberately differs from tinynet:

tinynet                                    lamina.compat.tinynet
Deconv2D.backward returned in_gradient     the real input, weight and bias gradients
unchanged ("not needed ... right now")
Deconv2D created a bias and never added    the bias is added (zeros at creation, so the
it                                         output is tinynet's until it is set or trained)
Deconv2D cropped one row and column on     padding p crops p on each side (PyTorch's
each side for any padding != 0             ConvTranspose2d); the same for padding 0 and 1
Deconv2D's own weight (n_filters, C, h,    (C, n_filters, h, w), a Conv2D(n_filters -> C)
w) worked only when n_filters == C         weight, for any n_filters
Deconv2D's im2rows indexed columns by      right for any H and W
the row count (wrong when H != W)
MaxUnpool2D placed index k at (k // w,     (k // w, k % w) for any window (tinynet's was
k % h)                                     right for square windows only)
MaxUnpool2D.backward returned None         the input gradient
Softmax ignored axis (always 1)            axis is honoured
Conv2D, MaxPool2D raised when the window   output sizes are floored, as PyTorch's
did not fit the input exactly
Linear added its gradient into             every backward replaces param.gradient (as
param.gradient (+=)                        tinynet's Conv2D did)
weights drawn from randn scaled by         lamina's default initialiser (Glorot uniform);
sqrt(1/in) or 1/sqrt(n_filter/2); conv     biases 0, shaped (n_filter,); a tensor of the
biases shaped (n_filter, 1)                same size assigns in any shape
"""

from lamina.compat.tinynet import layers, losses

__all__ = ["layers", "losses"]
