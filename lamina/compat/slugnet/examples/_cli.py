"""The command line of slugnet's examples: lamina's example options (lamina.examples.runner),
mapped onto slugnet's Model.

``--epochs``, ``--batch-size``, ``--validation-split`` and ``--lr`` (the optimizer's own rate:
slugnet's Model(lr=...) is never used) default to the documentation's settings; ``--data-dir``
is where get_mnist reads the MNIST files (by default the cache folder, downloading what is
missing), ``--limit`` trains on the first LIMIT images, ``--seed`` seeds lamina's generator,
``--verbose 0`` turns the progress bar off (the tables are always printed), ``--save`` and
``--plot`` write the trained network and its curves. ``--help`` prints the options and
exits before anything is loaded.
"""

import lamina
from lamina.compat.slugnet.data.mnist import get_mnist
from lamina.examples.runner import parse_args


def parse(doc, argv, epochs, batch_size, lr, validation_split=0.2):
    """The parsed options, lamina seeded with --seed."""
    args = parse_args(doc.splitlines()[0], argv, epochs=epochs, batch_size=batch_size, lr=lr,
                      validation_split=validation_split)
    lamina.seed(args.seed)
    return args


def load(args, limit=None):
    """get_mnist() from --data-dir, the first --limit (else `limit`) images."""
    X, y = get_mnist(path=args.data_dir)
    count = args.limit if args.limit is not None else limit
    return (X, y) if count is None else (X[:count], y[:count])


def settings(args):
    """The Model keywords the options set."""
    return dict(n_epoch=args.epochs, batch_size=args.batch_size,
                validation_split=args.validation_split, progress=args.verbose != "0")


def finish(args, model):
    """Save the network and plot its curves if asked; returns the trained model.

    The file holds the layers and weights (load with lamina.load_model); slugnet's training
    settings (its accuracy, its losses) are no lamina compile settings, so none are stored.
    """
    if args.save:
        lamina.Sequential(model.network.layers, name=model.network.name).save(args.save)
        print(f"Saved the model to {args.save}")
    if args.plot:
        from lamina import plot

        plot.history(model.history, path=args.plot, title=model.network.name)
        print(f"Saved the training curves to {args.plot}")
    return model
