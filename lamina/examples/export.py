"""Train, fold, quantise, export to ONNX and check in onnxruntime: ``python -m lamina.examples.export``.

The model leaves lamina the way a deployed one does. It is trained (the embedded digits by
default; ``--dataset mnist`` trains LeNet-5 on MNIST, downloaded once or read from
--data-dir), then

1. folded (lamina.inference.fold: batch norm into the convolutions, activations fused,
   dropout gone), whose predictions equal the trained model's in eval mode;
2. quantised to int8 (lamina.inference.quantize, calibrated on 512 training examples);
3. exported as float32 and as int8 (QDQ) ONNX files (lamina.interop.export_onnx), which
   onnxruntime then runs: their outputs are compared with lamina's, and their test
   accuracy, file size and inference time are printed side by side.

Needs the onnx extra and onnxruntime: ``pip install "lamina[onnx]" onnxruntime``.
"""

import argparse
import os
import time

import numpy as np

import lamina
from lamina import layers as L
from lamina.threads import blas_threads

BATCH = 256  # the inference batch timed in onnxruntime


def digits_model():
    """conv16-BN-ReLU, conv32-BN-ReLU, maxpool 2, dense 64-ReLU, dropout, dense 10."""
    return lamina.Sequential([
        L.Conv2D(1, 16, 3, padding=1, bias=False), L.BatchNorm2D(16), L.ReLU(),
        L.Conv2D(16, 32, 3, padding=1, bias=False), L.BatchNorm2D(32), L.ReLU(),
        L.MaxPool2D(2), L.Flatten(), L.Linear(32 * 4 * 4, 64), L.ReLU(), L.Dropout(0.2),
        L.Linear(64, 10)], name="digits_bn_cnn")


def load(args):
    """(model, ((x_train, y_train), (x_test, y_test)), epochs) for --dataset."""
    if args.dataset == "mnist":
        from lamina.datasets import load_mnist
        from lamina.examples.mnist import MNIST_MEAN, MNIST_STD
        from lamina.examples.runner import load_mnist_family
        from lamina.models import LeNet5

        return LeNet5(), load_mnist_family(load_mnist, args, MNIST_MEAN, MNIST_STD), 2
    from lamina.examples.digits import load_data

    return digits_model(), load_data(), 15


def onnx_session(path, threads):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def milliseconds(run, repeats=20):
    """Median wall time of run() in ms, after two warm-up calls."""
    run(), run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--data-dir", default=None, help="MNIST's folder (default: the cache)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 15 digits, 2 mnist")
    parser.add_argument("--out", default="lamina-export",
                        help="folder for the .onnx files (default ./lamina-export)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and onnxruntime threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from lamina.inference import fold, quantize
    from lamina.interop import export_onnx

    lamina.seed(args.seed)
    model, ((x_train, y_train), (x_test, y_test)), epochs = load(args)
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=2e-3),
                  metrics=["accuracy"])
    os.makedirs(args.out, exist_ok=True)
    with blas_threads(args.threads):
        model.fit(x_train, y_train, epochs=args.epochs or epochs, batch_size=32, verbose=0)
        folded = fold(model)
        gap = float(np.abs(folded.predict(x_test) - model.predict(x_test)).max())
        print(f"{model.name}: trained; folded into {len(folded.layers)} layers from "
              f"{len(model.layers)} (largest difference from eval mode {gap:.1e})")
        int8 = quantize(model, x_train[:512])
        rows = []
        for label, lamina_model in (("float32", model), ("folded", folded), ("int8", int8)):
            path = os.path.join(args.out, f"{model.name}_{label}.onnx")
            export_onnx(lamina_model, path)
            session = onnx_session(path, args.threads)
            name = session.get_inputs()[0].name
            outputs = session.run(None, {name: x_test})[0]
            rows.append({
                "model": label, "path": path, "bytes": os.path.getsize(path),
                "accuracy": float(np.mean(outputs.argmax(1) == y_test)),
                "lamina_accuracy": float(np.mean(lamina_model.predict(x_test).argmax(1)
                                                 == y_test)),
                "difference": float(np.abs(outputs - lamina_model.predict(x_test)).max()),
                "onnx_ms": milliseconds(lambda: session.run(None, {name: x_test[:BATCH]})),
                "lamina_ms": milliseconds(lambda: lamina_model.predict(x_test[:BATCH],
                                                                        batch_size=BATCH))})
    print(f"\n| model | file KB | lamina accuracy | onnxruntime accuracy | largest difference | "
          f"lamina ms / {BATCH} | onnxruntime ms / {BATCH} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['model']} | {row['bytes'] / 1024:.1f} | {row['lamina_accuracy']:.4f} | "
              f"{row['accuracy']:.4f} | {row['difference']:.1e} | {row['lamina_ms']:.2f} | "
              f"{row['onnx_ms']:.2f} |")
    smaller = rows[0]["bytes"] / rows[2]["bytes"]
    print(f"\nThe int8 file is {smaller:.2f}x smaller; its accuracy moved by "
          f"{100 * (rows[2]['accuracy'] - rows[0]['accuracy']):+.2f} points. Files in "
          f"{args.out}/")
    return {"rows": rows, "smaller": smaller, "fold_difference": gap}


if __name__ == "__main__":
    main()
