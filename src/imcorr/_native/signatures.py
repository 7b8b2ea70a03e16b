"""The ctypes signature of every native kernel: the Python half of ``src/imcorr/_native/kernels.h``.

:data:`SIGNATURES` maps each exported C function to ``(restype, argtypes)``, written with the
aliases below, one per C type of the header. ``tests/test_native_signatures.py`` parses
``kernels.h`` and fails when this table and the header disagree (a kernel missing on either
side, an argument or return type that differs, or another ABI number), since a mismatch
would be silent memory corruption at run time.

Pointer aliases are subclasses of :class:`ctypes.c_void_p`: they take the integer addresses
callers pass (``array.ctypes.data``) or None (NULL) exactly as ``c_void_p`` does, at the same
cost, but name the pointed-to C type (``const`` included) so the table can be checked
against the header.
"""

from __future__ import annotations

import ctypes

__all__ = ["ABI_VERSION", "C_TYPES", "SIGNATURES"]

#: The ABI number of kernels.h (``IMCORR_ABI_VERSION``); the loaded library must report the same.
ABI_VERSION = 3


def _pointer(c_type: str) -> type:
    """A ``c_void_p`` subclass named after the C pointer type it stands for."""
    name = "ptr_" + c_type.replace("const ", "c").replace(" *", "").replace("_t", "")
    return type(name, (ctypes.c_void_p,), {"c_type": c_type})


INT = ctypes.c_int
DOUBLE = ctypes.c_double
SSIZE = ctypes.c_ssize_t  # ptrdiff_t
SIZE = ctypes.c_size_t
VOID_P = _pointer("void *")
CVOID_P = _pointer("const void *")
F32_P = _pointer("float *")
CF32_P = _pointer("const float *")
F64_P = _pointer("double *")
CF64_P = _pointer("const double *")
U8_P = _pointer("uint8_t *")
CU8_P = _pointer("const uint8_t *")
CU16_P = _pointer("const uint16_t *")

#: C type (as written in kernels.h, ``void`` for no result) -> ctypes type (None for void).
C_TYPES: dict[str, type | None] = {
    "void": None,
    "int": INT,
    "double": DOUBLE,
    "ptrdiff_t": SSIZE,
    "size_t": SIZE,
    **{p.c_type: p for p in (VOID_P, CVOID_P, F32_P, CF32_P, F64_P, CF64_P, U8_P, CU8_P, CU16_P)},
}

_OUT = {"f32": F32_P, "f64": F64_P}  # writable output arrays by suffix
_ELEMENT = {"f32": CF32_P, "f64": CF64_P, "u8": CU8_P, "u16": CU16_P}  # typed input arrays by suffix

SIGNATURES: dict[str, tuple[type | None, tuple[type, ...]]] = {
    "imcorr_abi_version": (INT, ()),
    # acf.c
    "imcorr_acf_power_c64": (None, (CF32_P, F32_P, SSIZE)),
    **{f"imcorr_acf_centre_{s}": (INT, (_ELEMENT[s], SSIZE, SSIZE, SSIZE, F32_P, SSIZE)) for s in ("f32", "f64")},
    "imcorr_acf_class_sums_2d": (INT, (CF32_P, SSIZE, SSIZE, SSIZE, F64_P, SSIZE)),
    # moments.c
    **{f"imcorr_pair_sums_{s}": (None, (_ELEMENT[s], _ELEMENT[s], SSIZE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, F64_P))
       for s in ("f32", "f64", "u8", "u16")},
    # boxsum.c
    **{f"imcorr_box_moments_{s}": (INT, (_ELEMENT[s], SSIZE, SSIZE, SSIZE, SSIZE, SSIZE, DOUBLE, F64_P, F64_P))
       for s in ("f32", "f64", "u8", "u16")},
    # zncc.c
    **{f"imcorr_zncc_{s}_{o}": (SSIZE, (_ELEMENT[s], SSIZE, SSIZE, SSIZE, SSIZE, SSIZE, DOUBLE, _ELEMENT[o], SSIZE,
                                        DOUBLE, DOUBLE, DOUBLE, _OUT[o], SSIZE, U8_P, U8_P, SSIZE))
       for s in ("f32", "f64", "u8", "u16") for o in ("f32", "f64")},
    # localmap.c
    **{f"imcorr_local_pearson_{s}": (INT, (_ELEMENT[s], _ELEMENT[s], CU8_P, SSIZE, SSIZE, SSIZE, SSIZE, DOUBLE,
                                           DOUBLE, INT, DOUBLE, DOUBLE, DOUBLE, DOUBLE, SSIZE, SSIZE, F64_P, U8_P,
                                           F64_P))
       for s in ("f32", "f64", "u8", "u16")},
    # ssim.c
    **{f"imcorr_ssim_rows_{s}": (INT, (_ELEMENT[s], _ELEMENT[s], SSIZE, SSIZE, SSIZE, SSIZE, CF64_P, SSIZE, CF64_P,
                                       SSIZE, DOUBLE, DOUBLE, DOUBLE, SSIZE, SSIZE, F64_P, SSIZE, F64_P))
       for s in ("f32", "f64", "u8", "u16")},
    # register.c
    "imcorr_reg_crosspower": (None, (F32_P, CF32_P, SSIZE, INT)),
    "imcorr_reg_peak": (None, (CF32_P, INT, INT, INT, F64_P)),
    "imcorr_reg_grad_marginals": (INT, (CVOID_P, INT, SSIZE, SSIZE, INT, INT, F64_P, F64_P)),
    "imcorr_reg_prepare": (INT, (CVOID_P, INT, SSIZE, SSIZE, INT, INT, INT, F32_P, CF32_P, CF32_P, F32_P, F64_P)),
    "imcorr_reg_crop": (INT, (CVOID_P, INT, SSIZE, SSIZE, INT, INT, CF64_P, CF64_P, F32_P)),
    "imcorr_reg_tukey": (None, (INT, DOUBLE, DOUBLE, DOUBLE, DOUBLE, F64_P)),
    # register_gn.c
    "imcorr_reg_newton": (INT, (CF32_P, CF32_P, INT, INT, CF64_P, CF64_P, CF64_P, F64_P, F64_P, INT, INT, CF64_P,
                                INT, F64_P, VOID_P, SIZE)),
    "imcorr_reg_stats": (INT, (CF32_P, CF32_P, INT, INT, CF64_P, CF64_P, CF64_P, CF64_P, INT, CF64_P, F64_P, VOID_P,
                               SIZE)),
}
