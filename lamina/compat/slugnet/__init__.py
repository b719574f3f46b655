"""slugnet's API on lamina: code written for slugnet runs with ``slugnet.`` replaced by
``lamina.compat.slugnet.``.

    from lamina.compat.slugnet.activation import ReLU, Softmax
    from lamina.compat.slugnet.layers import Dense
    from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
    from lamina.compat.slugnet.model import Model
    from lamina.compat.slugnet.optimizers import RMSProp

    model = Model(lr=0.01, n_epoch=3, loss=SCCE(), metrics=['loss', 'accuracy'],
                  optimizer=RMSProp())      # trains at RMSProp's lr, 0.001
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
optimizers.SGD, RMSProp        optim.SGD, optim.RMSProp (each its own lr, 0.001 by default)
regularizers.L2Regularization  regularizers.L2 (Dense(regularization=...))
initializations.GlorotUniform  init.glorot_uniform (and GlorotNormal, He*, LecunUniform, ...)
data.mnist.get_mnist           datasets.load_mnist, as (70000, 784) pixels, one-hot labels

Model behaves as slugnet's code does: ``compile()`` connects the layers and draws their
weights (fit calls it when not yet done); fit holds out ceil(N * validation_split) samples
at random once, trains on the rest in one fixed order in N_train // batch_size full batches,
and returns ``{'train': {...}, 'val': {...}}`` of the last epoch; accuracy takes the argmax of
one-hot targets and rounds a single output column; ``transform([0, 1])`` of one sample
returns its output, a scalar for a single-output network. Each optimizer uses its own
``lr`` (0.001 unless given): ``Model(lr=...)`` is stored and changes nothing, as in slugnet,
although slugnet's documentation suggests that it sets the learning rate.

Where the adapter deliberately differs from slugnet:

slugnet                                  lamina.compat.slugnet
Dense summed its weight gradient over    every gradient is that of the batch's mean loss
the batch but averaged its bias's; the   (lamina's kernels, gradient-checked): at one lr,
losses' gradients were not divided by N  Dense weights move N times less than in slugnet
RMSProp: g / sqrt(r + epsilon)           g / (sqrt(r) + sqrt(epsilon)) (lamina's RMSProp)
SGD's decay multiplied lr by             lr / (1 + decay * t) within [lr_min, lr_max];
1 + decay * t (it only grew); RMSProp    clip and decay act for both optimizers
ignored clip, decay, lr_min, lr_max
Dropout scaled kept units by 1 / (1-p)   training only masks; inference multiplies by 1 - p
in training and multiplied by 1 - p at   (the factor once); p outside [0, 1] is a
inference; p outside [0, 1]: no dropout  ConfigError
the validation rows ran in training      in inference mode (no units dropped)
mode (dropout on)
loss computed on probabilities clipped   the exact cross-entropy of the logits (fused with
at epsilon                               the final Softmax)
L2Regularization's gradient alpha * w    2 * alpha * w, the penalty's exact gradient
transform(X) of a batch: the first       every row's output (N, ...), as the docs say
row's output only
transform(x) of one sample with several  that sample's whole output row
outputs: the first one (Softmax: error)
fit without the first layer's inshape:   the shape is taken from X (compile() still
ValueError                               needs inshape)
labels as class ids (N,): fit failed     accepted, as lamina's losses and accuracy read them
fewer samples than batch_size: no step,  a ConfigError naming both numbers
NaN statistics
n_epoch=0: UnboundLocalError             fit returns {}
sklearn's train_test_split, np.random    lamina's generator: lamina.seed(n) repeats a run
tqdm bar over the epochs                 a bar over each epoch's batches (on a terminal)

Convolution's activation=None means ReLU and the layers' shapes and errors are slugnet's
(errors are lamina.errors exceptions naming the layer).
"""

from lamina.compat.slugnet import (activation, data, initializations, layers, loss, model,
                                   optimizers, regularizers)

__all__ = ["activation", "data", "initializations", "layers", "loss", "model", "optimizers",
           "regularizers"]
