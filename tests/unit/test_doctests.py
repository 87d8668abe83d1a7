"""The worked examples in the docstrings of the money, fee, condition and masking modules run as
doctests: an example that no longer shows what the code does fails here, not in a reader's hands."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "engine.base.conditions",
    "engine.base.masking",
    "engine.rules.fees.schedule",
    "engine.rules.fees.assessment",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name} has no worked example"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples fail (run pytest -s to see)"
