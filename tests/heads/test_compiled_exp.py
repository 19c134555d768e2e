"""The compiled e^-a of the fused row losses against float64's exp."""

import numpy as np
from numba import njit

from w2v_contrastive.heads.compiled_exp import compiled_exp_neg


def exp_neg_of(values: np.ndarray) -> np.ndarray:
    exp_neg = compiled_exp_neg()

    @njit
    def each(values, out):
        for i in range(values.shape[0]):
            out[i] = exp_neg(values[i])

    out = np.empty_like(values)
    each(values, out)
    return out


def test_exp_neg_is_within_about_one_float32_ulp_of_the_exact_value_on_its_range():
    grid = np.concatenate([np.linspace(0, 87, 2_000_001, dtype=np.float32),  # both ends, every reduction interval
                           np.random.default_rng(0).exponential(3.0, 200_000).astype(np.float32) % 87])
    exact = np.exp(-grid.astype(np.float64))
    relative = np.abs(exp_neg_of(grid) - exact) / exact
    # float32's ulp is 1.19e-7 of the value at most (a polynomial a degree short: 2.2e-7)
    assert relative.max() < 1.5e-7
    assert exp_neg_of(np.zeros(1, dtype=np.float32))[0] == 1.0


def test_exp_neg_beyond_float32s_normal_range_is_a_tiny_positive_value():
    tiny = exp_neg_of(np.array([88.0, 100.0, 1e30], dtype=np.float32))
    assert np.all(tiny > 0) and np.all(tiny < 2e-38)
