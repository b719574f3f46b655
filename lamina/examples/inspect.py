"""Look inside training and inside the trained digits CNN: ``python -m lamina.examples.inspect``.

Trains the digits CNN (lamina.examples.digits) with a Monitor, then the same network with a
learning rate 25x too high, which kills most of its ReLUs, and prints what the Monitor warns.
Writes to --out: monitor.png and monitor_too_high_lr.png (per-layer statistics of both runs),
saliency.png (SmoothGrad), grad_cam.png, feature_maps.png (the first convolution's output for
one test digit) and filters.png (the inputs each unit of the second convolution responds to
most, by gradient ascent). Needs the plot extra; about half a minute on two CPU cores.
"""

import argparse
import os

import numpy as np

import lamina
from lamina import interpret, plot
from lamina.callbacks import Monitor
from lamina.examples.digits import build_model, load_data


def train(data, lr, epochs, every, seed):
    """The digits CNN trained with Adam(lr) under a Monitor; returns (model, monitor)."""
    (x, y), _ = data
    lamina.seed(seed)
    model = build_model()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=lr), metrics=["accuracy"])
    monitor = Monitor(every=every)
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[monitor])
    print(f"Adam(lr={lr:g}), {epochs} epochs: training accuracy "
          f"{history.history['accuracy'][-1]:.3f}, {len(monitor.warnings)} warning(s)")
    return model, monitor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each run (default 10)")
    parser.add_argument("--every", type=int, default=10,
                        help="Monitor(every=...): steps between samples (default 10)")
    parser.add_argument("--out", default="inspect", help="folder for the PNGs (default inspect)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    data = load_data()
    (_, _), (x_test, y_test) = data

    print("A healthy run:")
    model, monitor = train(data, 2e-3, args.epochs, args.every, args.seed)
    plot.monitor(monitor, path=os.path.join(args.out, "monitor.png"), title="Adam(lr=2e-3)")
    print("The same network with a learning rate too high:")
    _, broken = train(data, 5e-2, max(3, args.epochs // 3), args.every, args.seed)
    plot.monitor(broken, path=os.path.join(args.out, "monitor_too_high_lr.png"),
                 title="Adam(lr=5e-2)")

    x, y = x_test[:8], y_test[:8]
    grads = interpret.saliency(model, x, y, samples=16, noise=0.1)
    plot.saliency(x, grads, path=os.path.join(args.out, "saliency.png"), labels=y,
                  title="SmoothGrad saliency for the true class")
    cams = interpret.grad_cam(model, x, y, layer="re_lu_1")
    plot.grad_cam(x, cams, path=os.path.join(args.out, "grad_cam.png"), labels=y,
                  title="Grad-CAM at the second ReLU")
    plot.feature_maps(interpret.feature_maps(model, x[:1], "re_lu"),
                      path=os.path.join(args.out, "feature_maps.png"),
                      title=f"First convolution's ReLU maps for a {y[0]}")
    units = [interpret.maximize_activation(model, "re_lu_1", unit, steps=100, lr=0.5,
                                           input_shape=x.shape[1:])[0][0, 0]
             for unit in range(model.layers[2].out_channels)]
    plot.feature_maps(np.stack(units), path=os.path.join(args.out, "filters.png"),
                      title="What each unit of the second convolution responds to most")
    print(f"Wrote monitor.png, monitor_too_high_lr.png, saliency.png, grad_cam.png, "
          f"feature_maps.png and filters.png to {args.out}/")
    return {"healthy": monitor, "too_high_lr": broken}


if __name__ == "__main__":
    main()
