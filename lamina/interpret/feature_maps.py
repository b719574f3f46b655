"""Feature maps: what one layer of a model outputs for some inputs."""

from lamina.interpret.chain import check_chain, find_layer, model_inputs, observing, output_of

__all__ = ["feature_maps"]


def feature_maps(model, x, layer):
    """The output of `layer` (a top-level name or an index into model.layers, or a path into
    nested containers such as "1.block.0") for inputs x, in eval mode: (N, K, H, W) for a
    convolution, (N, F) for a dense layer. The model is left as it was."""
    caller = "lamina.interpret.feature_maps"
    check_chain(model, caller)
    layer = find_layer(model, layer, caller)
    x = model_inputs(model, x, caller)
    with observing(model):
        return output_of(model, x, layer)
