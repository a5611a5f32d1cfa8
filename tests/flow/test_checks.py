"""Shape and dtype checks of the flow entry points (rt_sfamnet.flow.checks)."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.flow.checks import check_dtype, check_same_shape, check_shape


def test_check_shape_binds_names():
    dims = check_shape(np.zeros((2, 5, 7)), "N H W", "I0", "f")
    assert dims == {"N": 2, "H": 5, "W": 7}
    assert check_shape(np.zeros((5, 7, 3)), "H W | H W 3", "I0", "f") == {"H": 5, "W": 7}
    assert check_shape(np.zeros((4, 4)), "H H", "x", "f") == {"H": 4}
    assert check_shape(np.zeros((4, 9)), "H *", "x", "f") == {"H": 4}
    # names bound by an earlier check must match
    assert check_shape(np.zeros((5, 7)), "H W", "Z0", "f", dims=dims) == dims


@pytest.mark.parametrize("x, spec, dims, message", [
    (np.zeros((5, 7, 4)), "H W | H W 3", None,
     r"^f: I0 must be an array of shape H x W or H x W x 3, found shape \(5, 7, 4\)$"),
    (np.zeros((4, 5)), "H H", None, r"shape H x H, found shape \(4, 5\)"),
    (np.zeros((5, 8)), "H W", {"H": 5, "W": 7, "N": 2},
     r"shape H x W with H = 5, W = 7, found shape \(5, 8\)$"),
    ([[1, 2]], "H W", None, "^f: I0 must be an array, found list$"),
])
def test_check_shape_messages(x, spec, dims, message):
    with pytest.raises(ValueError, match=message):
        check_shape(x, spec, "I0", "f", dims=dims)


def test_check_shape_what():
    with pytest.raises(ValueError, match="^tvl1: I1 must be a grey image of shape H x W, found"):
        check_shape(np.zeros(3), "H W", "I1", "tvl1", what="a grey image")


def test_check_same_shape():
    check_same_shape(np.zeros((2, 3)), np.ones((2, 3)), ("a", "b"), "f")
    with pytest.raises(ValueError, match=r"^f: a and b must have the same shape, found \(2, 3\) "
                                         r"and \(3, 2\)$"):
        check_same_shape(np.zeros((2, 3)), np.zeros((3, 2)), ("a", "b"), "f")


def test_check_dtype():
    assert check_dtype(np.zeros(2, np.uint8), ("uint8", "f"), "I0", "f") == np.uint8
    assert check_dtype(np.zeros(2, np.float16), ("uint8", "f"), "I0", "f") == np.float16
    assert check_dtype(np.zeros(2, np.int32), ("uint16", "i"), "Z0", "f") == np.int32
    with pytest.raises(ValueError, match="^f: I0 must be uint8 or float, found dtype uint16$"):
        check_dtype(np.zeros(2, np.uint16), ("uint8", "f"), "I0", "f")
    with pytest.raises(ValueError, match="^f: Z0 must be uint16 millimetres, found dtype bool$"):
        check_dtype(np.zeros(2, bool), ("uint16", "u", "i", "f"), "Z0", "f", "uint16 millimetres")
    with pytest.raises(ValueError, match="must be an array, found float"):
        check_dtype(1.0, ("f",), "x", "f")
