import contextlib
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Property tests: the same examples on every run, no example database, and Hypothesis' caches
# and patch files kept out of the checkout.
settings.register_profile("lamina", database=None, derandomize=True, deadline=None,
                          print_blob=False)
settings.load_profile("lamina")
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "lamina-hypothesis")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Before Hypothesis reports a failing example, load the module it reports with: it imports
    libcst, whose import-time DeprecationWarning would otherwise turn the report into an
    INTERNALERROR under filterwarnings=error."""
    if getattr(item, "_hypothesis_failing_examples", None):
        with warnings.catch_warnings(), contextlib.suppress(ImportError):
            warnings.simplefilter("ignore", DeprecationWarning)
            import hypothesis.extra._patching  # noqa: F401


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
