import numpy as np
import pytest

import lamina
from lamina import interpret
from lamina import layers as L
from lamina.errors import ConfigError, LabelError, ShapeError
from lamina.interpret.chain import observing, resolve_layer


def test_layers_are_named_by_top_level_name_index_or_object(cnn):
    assert resolve_layer(cnn, "relu", "f") == 2
    assert resolve_layer(cnn, -1, "f") == 6
    assert resolve_layer(cnn, cnn.layers[3], "f") == 3


@pytest.mark.parametrize("layer, match", [
    ("conv9", r"has no top-level layer named 'conv9'. Its layers: \['conv', "),
    (7, r"has 7 layers \(indices -7..6\). Received: layer=7"),
    (-8, r"Received: layer=-8"),
    (1.5, r"expects layer as a top-level layer name"),
])
def test_an_unknown_layer_is_a_clear_error_in_every_tool(cnn, images, layer, match):
    for call in (lambda: interpret.feature_maps(cnn, images, layer),
                 lambda: interpret.grad_cam(cnn, images, 0, layer),
                 lambda: interpret.maximize_activation(cnn, layer, 0, steps=1)):
        with pytest.raises(ConfigError, match=match):
            call()


@pytest.mark.parametrize("target, match", [
    (3, r"saliency expects class ids in \[0, 3\).*Received: y\[0\]=3"),
    ([0, 1, -1, 2], r"Received: y\[2\]=-1"),
    ([0, 1], r"expects 4 labels"),
])
def test_a_target_class_out_of_range_is_a_label_error(cnn, images, target, match):
    with pytest.raises(LabelError, match=match):
        interpret.saliency(cnn, images, target)
    with pytest.raises(LabelError, match=match.replace("saliency", "grad_cam")):
        interpret.grad_cam(cnn, images, target, "conv")


def test_grad_cam_refuses_a_layer_without_spatial_output(cnn, images):
    with pytest.raises(ShapeError, match=r"grad_cam needs a layer with spatial output .*Flatten "
                                         r"'flatten' \(layer 4\) outputs shape \(4, 36\)"):
        interpret.grad_cam(cnn, images, 0, "flatten")


def test_a_model_that_is_not_a_chain_is_refused(images):
    with pytest.raises(ConfigError, match="expects a lamina Sequential"):
        interpret.saliency(L.Linear(3, 2), images, 0)
    with pytest.raises(ConfigError, match="expects a lamina Sequential"):
        interpret.feature_maps(lamina.Sequential([]), images, 0)


def test_looking_inside_leaves_modes_weights_buffers_and_gradients_unchanged(cnn, images):
    cnn.layers[1].eval()  # a frozen BatchNorm in a training model
    cnn.forward(images)
    cnn.backward(np.ones((4, 3)))
    state = cnn.state_dict()
    grads = [p.grad.copy() for p in cnn.parameters()]
    modes = [layer.training for layer in cnn.layers]
    interpret.saliency(cnn, images, 1, samples=2)
    interpret.grad_cam(cnn, images, 1, "relu")
    interpret.feature_maps(cnn, images, "fc")
    interpret.maximize_activation(cnn, "conv", 1, steps=3)
    assert [layer.training for layer in cnn.layers] == modes == [True, False] + [True] * 5
    for name, value in cnn.state_dict().items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    for p, grad in zip(cnn.parameters(), grads):
        np.testing.assert_array_equal(p.grad, grad)


def test_observing_puts_everything_back_after_an_error(cnn, images):
    with pytest.raises(RuntimeError), observing(cnn):
        cnn.forward(images)
        raise RuntimeError
    assert all(layer.training for layer in cnn.layers)
    np.testing.assert_array_equal(cnn.layers[1].running_mean, np.zeros(4))
