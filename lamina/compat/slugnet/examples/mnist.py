"""slugnet's dense MNIST network: ``python -m lamina.compat.slugnet.examples.mnist [--help]``.

784 -> Dense 200 + ReLU -> Dense 10 + Softmax, RMSProp, three epochs; prints the training
and validation statistics of every epoch. The network is slugnet's documentation example
with the import prefix changed; its settings come from the command line (see _cli), whose
defaults are the documentation's (RMSProp's own lr, 0.001: the example's Model(lr=0.01) was
never used by slugnet).
"""

from lamina.compat.slugnet.activation import ReLU, Softmax
from lamina.compat.slugnet.examples import _cli
from lamina.compat.slugnet.layers import Dense, Dropout
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import RMSProp


def main(argv=None, dropout=0.0, doc=__doc__):
    args = _cli.parse(doc, argv, epochs=3, batch_size=32, lr=0.001)
    X, y = _cli.load(args)
    model = Model(lr=0.01, loss=SCCE(), metrics=['loss', 'accuracy'],
                  optimizer=RMSProp(lr=args.lr), **_cli.settings(args))

    model.add_layer(Dense(200, inshape=784, activation=ReLU()))
    if dropout:
        model.add_layer(Dropout(dropout))
    model.add_layer(Dense(10, activation=Softmax()))

    model.fit(X, y)
    return _cli.finish(args, model)


if __name__ == "__main__":
    main()
