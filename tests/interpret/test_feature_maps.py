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


def test_feature_maps_of_a_layer_inside_nested_containers_by_its_path(images):
    import lamina
    from lamina import layers as L

    lamina.seed(0)
    block = lamina.Sequential([L.Conv2D(None, 3, 3, padding=1), L.ReLU()], name="block")
    model = lamina.Sequential([L.Conv2D(None, 3, 3), L.Residual(block), L.Flatten()])
    model.forward(images)
    model.eval()
    expected = block.layers[0].forward(model.layers[0].forward(images.astype(np.float32)))
    model.train()
    np.testing.assert_array_equal(interpret.feature_maps(model, images, "1.block.0"), expected)
    assert model.training and block.layers[0].training
