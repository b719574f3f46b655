"""Code in tinynet's style beyond its documentation: a VGG-like net declared as tinynet's model
files declare theirs, trained with a hand-written loop and tinynet's SGD update."""

import numpy as np

import lamina
from lamina.compat.tinynet.layers import (Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLu,
                                          Softmax)
from lamina.compat.tinynet.losses import cross_entropy_with_softmax_loss


def test_a_small_vgg_trains_with_a_hand_written_loop():
    lamina.seed(0)
    (x, y), _ = lamina.datasets.load_digits()
    x, y = (x[:256, None] / 16.0).astype(np.float32), y[:256]
    net = [
        Conv2D('b_1_conv2d_1', (1, 8, 8), n_filter=8, w_filter=3, h_filter=3, stride=1, padding=1),
        ReLu('b_1_relu_1'),
        MaxPool2D('b_1_pool_1', (8, 8, 8), (2, 2), stride=2, return_index=True),
        Conv2D('b_2_conv2d_1', (8, 4, 4), 16, 3, 3, 1, 1),
        ReLu('b_2_relu_1'),
        Flatten('flat_1'),
        Linear('fc_1', 16 * 4 * 4, 32),
        ReLu('relu_1'),
        Dropout('drop_1', 0.9),
        Linear('fc_2', 32, 10),
        Softmax(),
    ]
    parameters = [p for layer in net for p in layer.parameters]

    def forward(batch):
        for layer in net[:-1]:
            batch = layer.forward(batch)
            if isinstance(layer, MaxPool2D) and layer.return_index:
                batch, max_indices = batch
        return batch  # the scores before the Softmax layer

    losses = []
    for epoch in range(8):
        for start in range(0, len(x), 32):
            scores = forward(x[start:start + 32])
            loss, gradient = cross_entropy_with_softmax_loss(scores, y[start:start + 32])
            for layer in reversed(net):
                gradient = layer.backward(gradient)
            for param in parameters:
                param.tensor -= 0.3 * param.gradient
            losses.append(loss)
    assert np.mean(losses[-8:]) < 0.4 * np.mean(losses[:8])
    net[8].eval()
    probabilities = net[-1].forward(forward(x))
    assert (probabilities.argmax(axis=1) == y).mean() > 0.8
