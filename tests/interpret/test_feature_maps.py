import numpy as np

from lamina import interpret


def test_feature_maps_equal_the_layers_own_forward_output_in_eval_mode(cnn, images):
    cnn.eval()
    expected, x = {}, images
    for layer in cnn.layers:
        x = layer.forward(x)
        expected[layer.name] = x
    cnn.train()
    for index, layer in enumerate(cnn.layers):
        for key in (index, layer.name):
            np.testing.assert_array_equal(interpret.feature_maps(cnn, images, key),
                                          expected[layer.name])
    assert interpret.feature_maps(cnn, images, "conv").shape == (4, 4, 6, 6)
    assert interpret.feature_maps(cnn, images, "conv").dtype == np.float64
