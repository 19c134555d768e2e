"""e^-a in float32 for the compiled row losses, as straight-line arithmetic inlined into their loops.

libm's ``exp`` is a call per candidate that the compiler can neither inline nor vectorise; this one is a
handful of multiply-adds (Cody & Waite 1980's range reduction, then a polynomial):

    a = n ln 2 - r,  n = round(a / ln 2),  |r| <= ln 2 / 2       (the reduction in float64: exact enough)
    e^-a = 2^-n e^r,  e^r ~ sum_{j=0..6} r^j / j!

and 2^-n built in the float's exponent bits. Relative error against the exact value: below 1e-7 on a dense
grid of [0, 87] (float32's rounding alone is up to 6e-8; one more term gains nothing). a above 87 (e^-a <
1.7e-38, beyond float32's normal range) gives e^-87, which a logistic or softmax row adds to 1 or to a sum
of values near 1 without a trace.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def compiled_exp_neg():
    """``exp_neg(a) -> float32``: e^-a for a float32 a >= 0 (numba, inlined into its caller)."""
    import numpy as np
    from numba import njit

    @njit(fastmath=True, error_model="numpy", inline="always")
    def exp_neg(a):
        a = min(a, np.float32(87.0))
        n = np.floor(a * np.float32(1.4426950408889634) + np.float32(0.5))  # round(a / ln 2), 0..126
        r = np.float32(np.float64(n) * 0.6931471805599453 - np.float64(a))  # in [-ln 2 / 2, ln 2 / 2]
        p = np.float32(1 / 720) + r * np.float32(1 / 5040)
        p = np.float32(1 / 120) + r * p
        p = np.float32(1 / 24) + r * p
        p = np.float32(1 / 6) + r * p
        p = np.float32(0.5) + r * p
        p = np.float32(1.0) + r * p
        p = np.float32(1.0) + r * p
        return p * np.int32((127 - np.int32(n)) << 23).view(np.float32)  # times 2^-n

    return exp_neg
