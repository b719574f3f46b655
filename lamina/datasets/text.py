"""A small public-domain text shipped inside the package, for character-level models."""

from importlib import resources


def load_coriolanus():
    """The opening scene of Shakespeare's Coriolanus (public domain), 7,302 characters.

    >>> load_coriolanus()[:14]
    'First Citizen:'
    """
    return resources.files("lamina.datasets").joinpath("data/coriolanus.txt").read_text(
        encoding="ascii")
