"""Looking inside a trained network, through its own forward and backward.

    from lamina import interpret
    grads = interpret.saliency(model, x, target=3, samples=20)    # SmoothGrad with samples
    cam = interpret.grad_cam(model, x, target=3, layer="conv2")   # (N, H, W)
    maps = interpret.feature_maps(model, x, layer=1)               # a layer's output
    image, trace = interpret.maximize_activation(model, "conv2", unit=5, steps=200)

Layers are named by their top-level name or an index into model.layers (feature_maps also
takes a path into nested containers, "1.block.0"). Each runs the model
in eval mode and leaves its modes, weights, buffers and gradients as they were. Pictures:
lamina.plot.saliency, .grad_cam, .feature_maps. The statistics a training Monitor records
(lamina.callbacks.Monitor) are in lamina.interpret.statistics.
"""

from lamina.interpret.feature_maps import feature_maps
from lamina.interpret.grad_cam import grad_cam
from lamina.interpret.maximize import maximize_activation
from lamina.interpret.saliency import saliency

__all__ = ["saliency", "grad_cam", "feature_maps", "maximize_activation"]
