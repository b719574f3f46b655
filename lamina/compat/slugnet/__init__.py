"""slugnet's API on lamina: code written for slugnet runs with ``slugnet.`` replaced by
``lamina.compat.slugnet.``.

    from lamina.compat.slugnet.activation import ReLU, Softmax
    from lamina.compat.slugnet.layers import Dense
    from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
    from lamina.compat.slugnet.model import Model
    from lamina.compat.slugnet.optimizers import RMSProp

    model = Model(lr=0.01, n_epoch=3, loss=SCCE(), metrics=['loss', 'accuracy'],
                  optimizer=RMSProp())
    model.add_layer(Dense(200, inshape=784, activation=ReLU()))
    model.add_layer(Dense(10, activation=Softmax()))
    model.fit(X, y)

slugnet name                   lamina
model.Model                    lamina.Sequential + compile/fit (table per epoch)
layers.Dense                   layers.Linear + the activation's layer
layers.Dropout(p)              functional.dropout_forward, times 1 - p (weight scaling)
layers.Convolution             layers.Conv2D (no padding) + activation (ReLU by default)
layers.MeanPooling             layers.AvgPool2D (stride = pool_size)
layers.Flatten                 layers.Flatten
activation.ReLU/Sigmoid/...    layers.ReLU, Sigmoid, Tanh, Softmax; Noop: none
loss.SoftmaxCategorical...     losses.CrossEntropy (softmax fused when the net ends in one)
loss.BinaryCrossEntropy        losses.BCE, summed per example, mean over examples
optimizers.SGD, RMSProp        optim.SGD, optim.RMSProp (lr None: the Model's lr)
initializations.GlorotUniform  init.glorot_uniform (and GlorotNormal, He*, LecunUniform, ...)
data.mnist.get_mnist           datasets.load_mnist, as (70000, 784) pixels, one-hot labels

Where slugnet's documentation is silent, the adapters do what slugnet plainly meant, the
Keras way, and say so in each module: Dropout's p is the probability of *removing* a unit and
inference multiplies by 1 - p (slugnet's code also rescaled while training, which counted
the factor twice; here training only masks). Model.lr is the learning rate of an optimizer
built without one (slugnet stored it and never used it). Gradients are those of the batch's
mean loss for weights and biases alike (slugnet summed one and averaged the other).
Convolution's activation=None means ReLU, as slugnet's code has it. transform(X) returns a
prediction for every row (slugnet's returned the first). The validation split and the
shuffling use lamina's generator: ``lamina.seed(n)`` makes a run repeatable.
"""

from lamina.compat.slugnet import (activation, data, initializations, layers, loss, model,
                                   optimizers)

__all__ = ["activation", "data", "initializations", "layers", "loss", "model", "optimizers"]
