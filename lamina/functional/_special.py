"""erf and erfc for NumPy arrays (NumPy has neither; SciPy is not a dependency).

W. J. Cody's rational Chebyshev approximations (Math. Comp. 23, 1969; Netlib specfun
CALERF), evaluated in the input's dtype: |x| <= 0.46875 gives erf = x P(x^2) / Q(x^2);
0.46875 < |x| <= 4 gives erfc = exp(-x^2) P(|x|) / Q(|x|); |x| > 4 gives
erfc = exp(-x^2) / |x| (1/sqrt(pi) - R(1/x^2) / S(1/x^2)). exp(-x^2) is split as
exp(-s^2) exp(-(x - s)(x + s)) with s = x rounded down to 1/16, so the rounding of x^2
is not amplified. Accurate to a few ulp in float64 and float32 alike.
"""

import numpy as np

_ERF_P = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_Q = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_MID_P = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_MID_Q = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_TAIL_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_TAIL_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)
_SMALL, _MID, _BIG = 0.46875, 4.0, 26.543  # erfc(x) underflows float64 past _BIG
_INV_SQRT_PI = 5.6418958354775628695e-1


def _ratio(t, p, q):
    """Cody's P(t) / Q(t): the last p coefficient leads, Q is monic."""
    num, den = p[-1] * t, t
    for a, b in zip(p[:len(q) - 1], q[:-1]):
        num, den = (num + a) * t, (den + b) * t
    return (num + p[len(q) - 1]) / (den + q[-1])


def _erf_small(x):
    """erf(x) for |x| <= 0.46875."""
    return x * _ratio(x * x, _ERF_P, _ERF_Q)


def _erfc_positive(y):
    """erfc(y) for 0.46875 < y (< inf); 0 where it underflows."""
    result = np.zeros_like(y)
    mid, tail = y <= _MID, (y > _MID) & (y < _BIG)
    result[mid] = _ratio(y[mid], _MID_P, _MID_Q)
    inv_sq = 1 / (y[tail] * y[tail])
    result[tail] = (_INV_SQRT_PI - inv_sq * _ratio(inv_sq, _TAIL_P, _TAIL_Q)) / y[tail]
    kept = mid | tail
    rounded = np.trunc(y[kept] * 16) / 16
    result[kept] *= np.exp(-rounded * rounded) * np.exp(-(y[kept] - rounded) * (y[kept] + rounded))
    return result


def erf(x):
    """The error function erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt, elementwise, x's dtype.

    >>> erf(np.array([0.0, 0.5, -2.0])).round(12).tolist()
    [0.0, 0.520499877813, -0.995322265019]
    """
    x = np.asarray(x)
    small = np.abs(x) <= _SMALL
    result = np.where(np.isnan(x), x, np.sign(x))
    result[small] = _erf_small(x[small])
    large = ~small & ~np.isnan(x)
    result[large] -= np.sign(x[large]) * _erfc_positive(np.abs(x[large]))
    return result


def erfc(x):
    """The complementary error function 1 - erf(x), without cancellation for large x.

    >>> [f"{value:.9e}" for value in erfc(np.array([-1.0, 3.0, 10.0]))]
    ['1.842700793e+00', '2.209049700e-05', '2.088487584e-45']
    """
    x = np.asarray(x)
    small = np.abs(x) <= _SMALL
    result = np.where(np.isnan(x), x, np.ones_like(x))
    result[small] -= _erf_small(x[small])
    large = ~small & ~np.isnan(x)
    tail = _erfc_positive(np.abs(x[large]))
    result[large] = np.where(x[large] > 0, tail, 2 - tail)
    return result
