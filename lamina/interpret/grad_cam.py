"""Grad-CAM (Selvaraju et al. 2017): where in a convolutional layer's maps a class is seen."""

import numpy as np

from lamina.errors import ShapeError
from lamina.interpret.chain import (backward_layers, check_chain, forward_layers, model_inputs,
                                    observing, resolve_layer, score_gradient)

__all__ = ["grad_cam"]


def grad_cam(model, x, target, layer):
    """Class activation map of `layer` for class `target`: (N, H, W), in the layer's grid.

    A = the layer's output (N, K, H, W); alpha_k = mean over (h, w) of d S_target / d A_k,
    with S the class score before a final Softmax; cam = ReLU(sum_k alpha_k A_k). layer: a
    top-level name or an index into model.layers, whose output must be (N, K, H, W); target:
    a class id for every example or one per example. Upsample to the input size for display
    (lamina.plot.grad_cam does). Eval mode; the model is left as it was.
    """
    caller = "lamina.interpret.grad_cam"
    check_chain(model, caller)
    index = resolve_layer(model, layer, caller)
    x = model_inputs(model, x, caller)
    fused = model.ends_in_softmax()
    head = model.layers[index + 1:]
    with observing(model):
        maps = forward_layers(model.layers[:index + 1], x)[-1]
        if maps.ndim != 4:
            raise ShapeError(f"{caller} needs a layer with spatial output (N, K, H, W); "
                             f"{model.layers[index].describe()} outputs shape {maps.shape}. "
                             f"Pick a convolution, activation or pooling layer before Flatten.")
        if not head:
            raise ShapeError(f"{caller} needs class scores after the layer; "
                             f"{model.layers[index].describe()} is the model's last layer.")
        scores = forward_layers(head, maps, fused)[-1]
        grad = backward_layers(head, score_gradient(caller, target, scores), fused)
    weights = grad.mean(axis=(2, 3), keepdims=True)
    return np.maximum((weights * maps).sum(axis=1), 0)
