"""Tier 1: pure forward/backward kernels, one op family per file.

Every op is a pair ``op_forward(inputs..., **hyper) -> (out, cache)`` and
``op_backward(dout, cache) -> gradients`` in the order of the forward's array arguments.
Losses return ``(loss, dinput)`` at once.
"""

from lamina.functional.activation import (elu_backward, elu_forward, gelu_backward, gelu_forward,
                                          hardsigmoid_backward, hardsigmoid_forward,
                                          hardswish_backward, hardswish_forward,
                                          leaky_relu_backward, leaky_relu_forward,
                                          log_softmax_backward, log_softmax_forward,
                                          relu6_backward, relu6_forward, relu_backward,
                                          relu_forward, sigmoid_backward, sigmoid_forward,
                                          silu_backward, silu_forward, softmax_backward,
                                          softmax_forward, softplus_backward, softplus_forward,
                                          tanh_backward, tanh_forward)
from lamina.functional.attention import (attention_weights, scaled_dot_product_attention_backward,
                                         scaled_dot_product_attention_forward)
from lamina.functional.conv import (conv2d_backward, conv2d_forward, conv_transpose2d_backward,
                                    conv_transpose2d_forward)
from lamina.functional.conv1d import (avg_pool1d_backward, avg_pool1d_forward, conv1d_backward,
                                      conv1d_forward, max_pool1d_backward, max_pool1d_forward)
from lamina.functional.dropout import dropout_backward, dropout_forward
from lamina.functional.embedding import embedding_backward, embedding_forward
from lamina.functional.linear import affine_backward, affine_forward
from lamina.functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                    cross_entropy_from_probs, hinge_loss, huber_loss,
                                    kl_div_loss, l1_loss, mse_loss, nll_loss, smooth_l1_loss,
                                    softmax_cross_entropy)
from lamina.functional.norm import (batch_norm_backward, batch_norm_forward, batchnorm_backward,
                                    batchnorm_forward, spatial_batchnorm_backward,
                                    spatial_batchnorm_forward)
from lamina.functional.pool import (avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward,
                                    max_pool2d_forward, max_pool2d_indices)
from lamina.functional.recurrent import recurrent_backward, recurrent_forward
from lamina.functional.recurrent_cells import (gru_cell_backward, gru_cell_forward,
                                               lstm_cell_backward, lstm_cell_forward,
                                               rnn_cell_backward, rnn_cell_forward)
from lamina.functional.sample_norm import (group_norm_backward, group_norm_forward,
                                           instance_norm_backward, instance_norm_forward,
                                           instance_norm_running_stats, layer_norm_backward,
                                           layer_norm_forward)
from lamina.functional.adaptive_pool import (adaptive_avg_pool2d_backward,
                                             adaptive_avg_pool2d_forward)
from lamina.functional.global_pool import (global_avg_pool2d_backward, global_avg_pool2d_forward,
                                           global_max_pool2d_backward, global_max_pool2d_forward)
from lamina.functional.padding import (pad2d_backward, pad2d_forward, zero_pad2d_backward,
                                       zero_pad2d_forward)
from lamina.functional.shuffle import channel_shuffle_backward, channel_shuffle_forward
from lamina.functional.unpool import max_unpool2d_backward, max_unpool2d_forward
from lamina.functional.upsample import upsample2d_backward, upsample2d_forward

__all__ = [
    "affine_forward", "affine_backward", "relu_forward", "relu_backward", "sigmoid_forward",
    "sigmoid_backward", "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward",
    "conv2d_forward", "conv2d_backward", "conv_transpose2d_forward", "conv_transpose2d_backward",
    "max_pool2d_forward", "max_pool2d_backward", "max_pool2d_indices", "avg_pool2d_forward",
    "avg_pool2d_backward", "batch_norm_forward", "batch_norm_backward", "batchnorm_forward", "batchnorm_backward", "spatial_batchnorm_forward",
    "spatial_batchnorm_backward", "dropout_forward", "dropout_backward", "softmax_cross_entropy",
    "hinge_loss", "mse_loss",
    "cross_entropy_from_probs", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "l1_loss", "smooth_l1_loss", "huber_loss",
    "kl_div_loss",
    "relu6_forward", "relu6_backward", "leaky_relu_forward", "leaky_relu_backward",
    "elu_forward", "elu_backward", "gelu_forward", "gelu_backward", "silu_forward",
    "silu_backward", "softplus_forward", "softplus_backward", "hardsigmoid_forward",
    "hardsigmoid_backward", "hardswish_forward", "hardswish_backward", "log_softmax_forward",
    "log_softmax_backward",
    "layer_norm_forward", "layer_norm_backward", "group_norm_forward", "group_norm_backward",
    "instance_norm_forward", "instance_norm_backward", "instance_norm_running_stats",
    "global_avg_pool2d_forward", "global_avg_pool2d_backward", "global_max_pool2d_forward",
    "global_max_pool2d_backward", "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
    "max_unpool2d_forward", "max_unpool2d_backward", "upsample2d_forward", "upsample2d_backward",
    "zero_pad2d_forward", "zero_pad2d_backward", "pad2d_forward", "pad2d_backward",
    "channel_shuffle_forward",
    "channel_shuffle_backward",
    "embedding_forward", "embedding_backward", "rnn_cell_forward", "rnn_cell_backward",
    "lstm_cell_forward", "lstm_cell_backward", "gru_cell_forward", "gru_cell_backward",
    "recurrent_forward", "recurrent_backward", "scaled_dot_product_attention_forward",
    "scaled_dot_product_attention_backward", "attention_weights", "conv1d_forward", "conv1d_backward",
    "max_pool1d_forward", "max_pool1d_backward", "avg_pool1d_forward", "avg_pool1d_backward",
]
