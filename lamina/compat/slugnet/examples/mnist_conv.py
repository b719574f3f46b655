"""slugnet's convolutional MNIST network: ``python -m lamina.compat.slugnet.examples.mnist_conv
[--help]``.

conv 3x3 (1 kernel, ReLU) - mean pool 2x2 - conv 4x4 (2 kernels, ReLU) - mean pool 2x2 -
flatten - Dense 10 + Softmax, on 1,000 images (--limit) for 100 epochs of SGD (its own lr,
0.001) in batches of 3: 26,600 steps, a few minutes on a 2-core CPU. The network and the
data preparation are slugnet's documentation example with the import prefix changed; the
settings come from the command line (see _cli), whose defaults are the documentation's.
"""

import numpy as np

from lamina.compat.slugnet.examples import _cli
from lamina.compat.slugnet.layers import Convolution, Dense, Flatten, MeanPooling
from lamina.compat.slugnet.activation import Softmax
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import SGD


def main(argv=None):
    args = _cli.parse(__doc__, argv, epochs=100, batch_size=3, lr=0.001)
    X, y = _cli.load(args)
    X = X.reshape((-1, 1, 28, 28)) / 255.0
    count = args.limit if args.limit is not None else 1000
    np.random.seed(100)
    X = np.random.permutation(X)[:count]
    np.random.seed(100)
    y = np.random.permutation(y)[:count]

    model = Model(lr=0.001, loss=SCCE(), metrics=['loss', 'accuracy'],
                  optimizer=SGD(lr=args.lr), **_cli.settings(args))

    model.add_layer(Convolution(1, (3, 3), inshape=(None, 1, 28, 28)))
    model.add_layer(MeanPooling((2, 2)))
    model.add_layer(Convolution(2, (4, 4)))
    model.add_layer(MeanPooling((2, 2)))
    model.add_layer(Flatten())
    model.add_layer(Dense(10, activation=Softmax()))

    model.fit(X, y)
    return _cli.finish(args, model)


if __name__ == "__main__":
    main()
