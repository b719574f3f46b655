"""Each layer family page holds the forward and the backward equations of its kernels, in
LaTeX, and embeds those kernels' docstrings, which state the same equations in plain text."""

import re

import pytest

from lamina import functional as F
from lamina import optim
from lamina.functional import sampling
from tests.docs.conftest import DOCS

# page -> (kernel, the equation as its docstring writes it, the same equation on the page)
EQUATIONS = {
    "dense": [
        (F.affine_forward, "out: (N, M) = x2d @ w + b", r"y = x\,w + b"),
        (F.affine_backward, "dx (N, d1..dk) = dout @ w.T", r"\mathrm{d}x = \mathrm{d}y\; w^\top"),
        (F.affine_backward, "dw (D, M) = x2d.T @ dout", r"\mathrm{d}w = x^\top\, \mathrm{d}y"),
        (F.affine_backward, "db (M,) = sum_N dout", r"\mathrm{d}b_m = \sum_n \mathrm{d}y_{nm}"),
    ],
    "convolution": [
        (F.conv2d_forward, "OH = (H + 2*ph - dh*(KH-1) - 1) // sh + 1",
         r"\frac{H + 2p_h - d_h (K_H - 1) - 1}{s_h}"),
        (F.conv2d_forward, "b[f] + sum_{c,p,q} w[f,c,p,q] * x_pad[n, g*Cg+c, i*sh+p*dh, j*sw+q*dw]",
         r"b_f + \sum_{c=1}^{C} \sum_{p=0}^{K_H-1} \sum_{q=0}^{K_W-1} w_{f c p q}\; "
         r"x^{\mathrm{pad}}_{n,\, c,\; i s_h + p d_h,\; j s_w + q d_w}"),
        (F.conv2d_backward, "dW_g = dout_g @ cols_g^T", r"\mathrm{d}W = \mathrm{d}Y\, \mathrm{cols}^\top"),
        (F.conv2d_backward, "dx = crop(col2im(W_g^T @ dout_g))", r"\mathrm{d}\,\mathrm{cols} = W^\top\, \mathrm{d}Y"),
        (F.conv2d_backward, "dx = conv2d(pad(dout, dh*(KH-1) - ph), w[:, :, ::-1, ::-1] with F and C swapped)",
         r"\mathrm{d}x = \operatorname{corr}\!\big(\operatorname{pad}_{K-1-p}(\mathrm{d}y),\; \tilde w\big)"),
    ],
    "pooling": [
        (F.max_pool2d_backward, "dx[n, c, p] = sum of dout[n, c, i, j] over the windows whose maximum sits at p",
         r"\mathrm{d}x_{nchv} = \sum_{(i, j):\ (h^*_{ij}, v^*_{ij}) = (h, v)} \mathrm{d}y_{ncij}"),
        (F.avg_pool2d_forward, "out[n, c, i, j] = sum(window) / (KH*KW)",
         r"y_{ncij} = \frac{1}{K_H K_W} \sum_{(h, v) \in \Omega_{ij}} x^{\mathrm{pad}}_{nchv}"),
        (F.avg_pool2d_backward, "dx[n, c, p] = sum over the windows holding p of dout[n, c, i, j] / (KH*KW)",
         r"\mathrm{d}x_{nchv} = \frac{1}{K_H K_W} \sum_{(i, j):\ (h, v) \in \Omega_{ij}} \mathrm{d}y_{ncij}"),
    ],
    "normalization": [
        (F.batchnorm_forward, "xhat = (x - mu) / sqrt(var + eps)",
         r"\hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \varepsilon}}"),
        (F.batchnorm_forward, "out = gamma * xhat + beta", r"y_i = \gamma\, \hat x_i + \beta"),
        (F.batchnorm_backward, "dbeta = sum dout, dgamma = sum dout * xhat",
         r"\mathrm{d}\gamma = \sum_i \mathrm{d}y_i\, \hat x_i"),
        (F.batchnorm_backward, "dx = gamma / (M * sqrt(var + eps)) * (M * dout - sum dout - xhat * sum dout * xhat)",
         r"\frac{\gamma}{M \hat\sigma} \Big( M\, \mathrm{d}y_i - \mathrm{d}\beta - \hat x_i\, \mathrm{d}\gamma \Big)"),
        (F.sample_norm, "dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)",
         r"\mathrm{d}x = \big(g - \overline{g} - \hat x\, \overline{g \hat x}\big) / \hat\sigma"),
    ],
    "activations": [
        (F.relu_forward, "y = max(x, 0)", r":math:`\max(x, 0)`"),
        (F.relu_backward, "dx = dout * [x > 0]", r":math:`[x > 0]`"),
        (F.sigmoid_backward, "dx = dout * y * (1 - y)", r":math:`y (1 - y)`"),
        (F.tanh_backward, "dx = dout * (1 - y^2)", r":math:`1 - y^2`"),
        (F.softmax_backward, "dx = y * (dout - sum(dout * y, axis)) — the Jacobian (diag(y) - y y^T)",
         r"y \odot \big(\mathrm{d}y - \langle \mathrm{d}y, y \rangle \mathbf{1}\big)"),
        (F.log_softmax_backward, "dx = dout - exp(y) sum(dout, axis)",
         r"\mathrm{d}x = \mathrm{d}y - \operatorname{softmax}(x) \sum_k \mathrm{d}y_k"),
    ],
    "dropout": [
        (F.dropout_forward, "out = x * mask, mask = [u >= p] / (1 - p)",
         r"m = \frac{[u \ge p]}{1 - p}, \qquad y = x \odot m"),
        (F.dropout_backward, "dx = dout * mask", r"\mathrm{d}x = \mathrm{d}y \odot m"),
    ],
    "losses": [
        (F.softmax_cross_entropy, "loss = -sum_ic A_ic log_softmax(z)_ic / divisor",
         r"L = -\frac{1}{\text{divisor}} \sum_{nc} A_{nc} \log p_{nc}"),
        (F.softmax_cross_entropy, "dlogits_ic = (softmax(z)_ic sum_k A_ik - A_ic) / divisor",
         r"\mathrm{d}z_{nk} = \frac{p_{nk} \sum_c A_{nc} - A_{nk}}{\text{divisor}}"),
        (F.softmax_cross_entropy, "dlogits = (softmax - y) / N", r"= \frac{p_{nk} - y_{nk}}{N}"),
        (F.binary_cross_entropy_with_logits, "(w (sigmoid(x) - t) without it)",
         r"(\sigma(z_k) - t_k)/n"),
        (F.mse_loss, "dpred = 2 (pred - target) / n", r"\mathrm{d}x = \frac{2 (x - t)}{n}"),
    ],
    "sequences": [
        (F.embedding_forward, "out[..., :] = weight[ids[...]]", r"y_{p} = W_{\mathrm{ids}_p}"),
        (F.embedding_backward, "dweight[v] = sum of dout[p] over the positions p where ids[p] == v",
         r"\mathrm{d}W_v = \sum_{p:\ \mathrm{ids}_p = v} \mathrm{d}y_p"),
        (F.lstm_cell_forward, "c' = sigmoid(f) * c + sigmoid(i) * tanh(g), h' = sigmoid(o) * tanh(c')",
         r"c_t = \sigma(f_t) \odot c_{t-1} + \sigma(i_t) \odot \tanh(g_t), \qquad "
         r"h_t = \sigma(o_t) \odot \tanh(c_t)"),
        (F.lstm_cell_backward, "dc_total = dc' + dh' * o * (1 - tanh(c')^2), dc = dc_total * f",
         r"\overline{\mathrm{d}c}_t = \mathrm{d}c_t + \mathrm{d}h_t \odot \hat o \odot (1 - \tanh^2 c_t)"),
        (F.lstm_cell_backward, "dh = d[i f g o] @ w_hh", r"\mathrm{d}h_{t-1} = \mathrm{d}a_t\, W_{hh}"),
        (F.gru_cell_forward, "h' = (1 - z) * n + z * h", r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}"),
        (F.gru_cell_backward, "dh = dh' * z + dgh @ w_hh",
         r"\mathrm{d}h_{t-1} = \mathrm{d}h_t \odot z_t + \mathrm{d}a^h_t\, W_{hh}"),
        (F.recurrent_backward, "dh'_t = dh_t + dout[:, t]", r"\mathrm{d}h'_t = \mathrm{d}h_t + \mathrm{d}y_t"),
        (F.recurrent_backward, "dh_{t-1} = dgh_t @ w_hh + direct_t, dw_hh = sum_t dgh_t^T h_{t-1}",
         r"\mathrm{d}h_{t-1} = \mathrm{d}a^h_t\, W_{hh} + (\text{the cell's direct part})"),
        (F.scaled_dot_product_attention_forward, "scores = q @ k^T * scale + mask, scale = 1 / sqrt(E)",
         r"S = \frac{Q K^\top}{\sqrt{E}} + M"),
        (F.scaled_dot_product_attention_forward, "weights = softmax(scores) over S, out = dropout(weights) @ v",
         r"P = \operatorname{softmax}_{\text{rows}}(S), \qquad y = P\, V"),
        (F.scaled_dot_product_attention_backward, "dS = P * (dP - sum_S(dP * P))",
         r"\mathrm{d}S = P \odot \big(\mathrm{d}P - \operatorname{rowsum}(\mathrm{d}P \odot P)\big)"),
        (F.scaled_dot_product_attention_backward, "dq = dS k * scale, dk = dS^T q * scale",
         r"\mathrm{d}Q = \frac{\mathrm{d}S\, K}{\sqrt{E}}, \qquad \mathrm{d}K = \frac{\mathrm{d}S^\top Q}{\sqrt{E}}"),
        (F.conv1d_forward, "OL = (L + 2p - d(K-1) - 1) // s + 1",
         r"O_L = \left\lfloor \frac{L + 2p - d (K - 1) - 1}{s} \right\rfloor + 1"),
        (F.conv1d_forward, "out[n, f, i] = b[f] + sum_{c, k} w[f, c, k] x_pad[n, g*C/G + c, i*s + k*d]",
         r"y_{nfi} = b_f + \sum_{c} \sum_{k=0}^{K-1} w_{fck}\, x^{\mathrm{pad}}_{n,\, c,\; i s + k d}"),
        (F.conv1d_backward, "dx = dx_2d[:, :, 0], dw = dw_2d[:, :, 0]",
         r"\mathrm{d}x = \mathrm{d}x^{2\mathrm{D}}_{:,\,:,\,0,\,:}"),
    ],
    "augmentation": [
        (sampling.affine_sample_forward, "out[n, c, p] = sum_t w_t[n, p] * x[n, c, i_t[n, p]]",
         r"y_{n c p} = \sum_t w_{t}[n, p]\; x_{n,\, c,\; i_t[n, p]}"),
        (sampling.affine_sample_backward, "dx[n, c, q] = sum over taps and outputs p with "
                                          "i_t[n, p] == q of w_t[n, p] * dout[n, c, p]",
         r"\mathrm{d}x_{n c q} = \sum_t \sum_{p:\; i_t[n, p] = q} w_t[n, p]\; \mathrm{d}y_{n c p}"),
    ],
    "optimizers": [
        (optim.SGD, "b = momentum * b + (1 - dampening) * g", r"b_t = \mu\, b_{t-1} + (1 - \tau)\, g"),
        (optim.RMSProp, "v = rho * v + (1 - rho) * g^2", r"v_t = \rho\, v_{t-1} + (1 - \rho)\, g^2"),
        (optim.Adam, "v = beta2 * v + (1 - beta2) * g^2",
         r"v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2"),
        (optim.Adam, "p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)",
         r"\frac{\eta}{1 - \beta_1^t}\, m_t / \big(\sqrt{v_t}/\sqrt{1 - \beta_2^t} + \epsilon\big)"),
        (optim.AdaGrad, "s = s + g^2", r"s_t = s_{t-1} + g_t^2"),
        (optim.AdaGrad, "p = p - lr_t * g / (sqrt(s) + eps)",
         r"\theta \leftarrow \theta - \eta_t\, \frac{g_t}{\sqrt{s_t} + \epsilon}"),
    ],
}


def squeezed(text):
    return " ".join(text.split())


def family_pages():
    index = (DOCS / "layers" / "index.rst").read_text(encoding="utf-8")
    return re.findall(r"^   (\w+)$", index.split(".. toctree::", 1)[1], re.M)


def test_every_family_page_is_checked():
    assert sorted(family_pages()) == sorted(EQUATIONS)


@pytest.mark.parametrize("family", sorted(EQUATIONS))
def test_page_equations_match_the_kernel_docstrings(family):
    page = (DOCS / "layers" / f"{family}.rst").read_text(encoding="utf-8")
    for kernel, docstring_form, latex_form in EQUATIONS[family]:
        name = kernel.__name__
        assert squeezed(docstring_form) in squeezed(kernel.__doc__), (name, docstring_form)
        assert squeezed(latex_form) in squeezed(page), (family, latex_form)
        embedded = re.search(rf"^\.\. auto\w+:: [\w.]*\b{re.escape(name.rpartition('.')[2])}\n"
                             r"   :no-index:", page, re.M)
        assert embedded, f"{family}.rst does not show the docstring of {name}"
    if family not in ("losses", "optimizers"):  # those compute the loss and its gradient at once
        names = [kernel.__name__ for kernel, _, _ in EQUATIONS[family]]
        assert any(n.endswith("_forward") for n in names), family
        assert any(n.endswith("_backward") for n in names), family
