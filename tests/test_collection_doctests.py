"""The Examples sections of imcorr.collection run as doctests."""

from __future__ import annotations

import doctest

import pytest

import imcorr.collection.blocks
import imcorr.collection.index
import imcorr.collection.matrix
import imcorr.collection.mih


@pytest.mark.parametrize("module", [imcorr.collection.mih, imcorr.collection.index, imcorr.collection.blocks,
                                    imcorr.collection.matrix], ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
