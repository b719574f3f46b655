"""LeNet-5 (LeCun et al. 1998), in its modern form: ReLU and max pooling."""

from lamina import layers as L
from lamina.models.blocks import check_count
from lamina.model import Sequential


def LeNet5(in_channels=1, num_classes=10, input_size=28):
    """conv6 5x5 - ReLU - maxpool 2 - conv16 5x5 - ReLU - maxpool 2 - fc120 - ReLU - fc84 -
    ReLU - fc(num_classes), returning logits. x (N, in_channels, S, S) -> (N, num_classes).

    The original used tanh-like squashing, average-pool "subsampling" with trainable weights
    and a sparse C3 connection table; this is the variant used today (ReLU, max pool, every
    C3 map sees every S2 map). The first conv pads by 2 when input_size < 32, so MNIST's
    28x28 and the original 32x32 both reach 16 x 5 x 5 = 400 features; other sizes work too
    (the first Linear is sized from input_size, e.g. 16 x 2 x 2 for 16x16 inputs).

    Parameters: 61,706 for 1 x 28 x 28 or 1 x 32 x 32 inputs and 10 classes (62,006 with
    3 input channels).

    >>> LeNet5().output_shape((None, 1, 28, 28))
    (None, 10)
    >>> LeNet5(in_channels=3, input_size=32).count_params()
    62006
    """
    in_channels = check_count("LeNet5", "in_channels", in_channels)
    num_classes = check_count("LeNet5", "num_classes", num_classes)
    # 12 is the smallest input that leaves a 1x1 map after the second pool
    input_size = check_count("LeNet5", "input_size", input_size, minimum=12)
    padding = 2 if input_size < 32 else 0
    size = ((input_size + 2 * padding - 4) // 2 - 4) // 2
    return Sequential([
        L.Conv2D(in_channels, 6, 5, padding=padding, name="conv1"), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(6, 16, 5, name="conv2"), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(),
        L.Linear(16 * size * size, 120, name="fc1"), L.ReLU(),
        L.Linear(120, 84, name="fc2"), L.ReLU(),
        L.Linear(84, num_classes, name="fc3"),
    ], name="lenet5")
