"""slugnet's runnable examples, as its documentation gives them: ``python -m
lamina.compat.slugnet.examples.mnist`` (also ``mnist_dropout``, ``mnist_conv``)."""
