"""What every spatial kernel family promises (the OPS table of each family's tests): the
input's dtype is kept and the inputs are not written to, and backward refuses a dout of
the wrong shape. Each family's own tests hold its math and its error table."""

import numpy as np
import pytest

from tests.functional import (test_adaptive_pool, test_global_pool, test_padding, test_shuffle,
                              test_upsample)
from tests.functional.kernel_properties import check_dtype_and_purity, check_rejects_wrong_dout

OPS = {name: op for family in (test_global_pool, test_adaptive_pool, test_upsample, test_padding,
                               test_shuffle) for name, op in family.OPS.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", OPS.values(), ids=list(OPS))
def test_dtype_preserved_and_inputs_not_mutated(op, dtype, rng):
    check_dtype_and_purity(op, dtype, rng)


@pytest.mark.parametrize("op", OPS.values(), ids=list(OPS))
def test_backward_rejects_wrong_dout_shape(op, rng):
    check_rejects_wrong_dout(op, rng)
