"""The ctypes table (imcorr._native.signatures) against the C header (src/imcorr/_native/kernels.h).

A kernel bound with the wrong argument types is silent memory corruption, so the table must say
exactly what the header declares (and the compiler checks each .c definition against the header).
The prototypes are read by a small regex parser; its own tests below show it catches a mismatch.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import pytest

from imcorr import _native
from imcorr._native import signatures

HEADER = Path(__file__).resolve().parents[1] / "src" / "imcorr" / "_native" / "kernels.h"

_PROTOTYPE = re.compile(r"^\s*([A-Za-z_][\w ]*?[\s*]+)(imcorr_\w+)\s*\(([^)]*)\)\s*;", re.MULTILINE)
_ABI = re.compile(r"^#define\s+IMCORR_ABI_VERSION\s+(\d+)\s*$", re.MULTILINE)


def _c_type(decl: str) -> str:
    """``"const double *x"`` -> ``"const double *"``; ``"ptrdiff_t n"`` -> ``"ptrdiff_t"``."""
    decl = " ".join(decl.replace("*", " * ").split())
    if "*" in decl:
        return decl[: decl.rindex("*")].strip() + " *"
    words = decl.split()
    return " ".join(words[:-1]) if len(words) > 1 else words[0]


def parse_header(text: str) -> tuple[dict[str, tuple[str, tuple[str, ...]]], int | None]:
    """``({name: (C return type, (C argument types...))}, ABI number)`` of the prototypes in ``text``."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    protos = {}
    for ret, name, args in _PROTOTYPE.findall(text):
        if name in protos:
            raise ValueError(f"{name} is declared twice")
        args = args.strip()
        params = () if args in ("", "void") else tuple(_c_type(a) for a in args.split(","))
        protos[name] = (_c_type(ret + " _"), params)
    abi = _ABI.search(text)
    return protos, int(abi.group(1)) if abi else None


def to_ctypes(protos) -> dict[str, tuple[type | None, tuple[type, ...]]]:
    """The parsed prototypes as ``(restype, argtypes)`` (KeyError on a C type the table has no alias for)."""
    return {name: (signatures.C_TYPES[ret], tuple(signatures.C_TYPES[a] for a in args))
            for name, (ret, args) in protos.items()}


def _name(t) -> str:
    return "void" if t is None else t.__name__


def mismatches(header: dict, table: dict) -> list[str]:
    """Human-readable differences between the header's signatures and the Python table."""
    out = [f"{n}: in kernels.h, not in SIGNATURES" for n in sorted(header.keys() - table.keys())]
    out += [f"{n}: in SIGNATURES, not in kernels.h" for n in sorted(table.keys() - header.keys())]
    for n in sorted(header.keys() & table.keys()):
        (hr, ha), (tr, ta) = header[n], table[n]
        if hr is not tr:
            out.append(f"{n}: returns {_name(hr)} in kernels.h, {_name(tr)} in SIGNATURES")
        if len(ha) != len(ta):
            out.append(f"{n}: {len(ha)} arguments in kernels.h, {len(ta)} in SIGNATURES")
        else:
            out += [f"{n}: argument {i} is {_name(h)} in kernels.h, {_name(t)} in SIGNATURES"
                    for i, (h, t) in enumerate(zip(ha, ta)) if h is not t]
    return out


def test_table_matches_header():
    protos, abi = parse_header(HEADER.read_text())
    assert len(protos) >= 21, sorted(protos)  # the parser found the declarations
    assert mismatches(to_ctypes(protos), signatures.SIGNATURES) == []


def test_abi_number_matches_header():
    assert parse_header(HEADER.read_text())[1] == signatures.ABI_VERSION == _native.ABI_VERSION


def test_every_kernel_is_exported_by_the_built_library(monkeypatch):
    monkeypatch.setenv("IMCORR_NATIVE", "1")
    lib = _native.library()
    if lib is None:
        pytest.skip(f"native kernels not built: {_native.available()[1]}")
    missing = [n for n in signatures.SIGNATURES if not hasattr(lib, n)]
    assert missing == []
    assert _native.kernel("imcorr_abi_version")() == signatures.ABI_VERSION


def test_kernel_is_configured_from_the_table_and_cached(monkeypatch):
    monkeypatch.setenv("IMCORR_NATIVE", "1")
    if _native.library() is None:
        pytest.skip(f"native kernels not built: {_native.available()[1]}")
    fn = _native.kernel("imcorr_box_moments_u8")
    assert fn is _native.kernel("imcorr_box_moments_u8")
    restype, argtypes = signatures.SIGNATURES["imcorr_box_moments_u8"]
    assert fn.restype is restype and tuple(fn.argtypes) == argtypes
    monkeypatch.setenv("IMCORR_NATIVE", "0")  # read on every call
    assert _native.kernel("imcorr_box_moments_u8") is None
    with pytest.raises(KeyError):  # a name missing from the table is an error on both paths
        _native.kernel("imcorr_no_such_kernel")


def test_pointer_aliases_take_addresses_and_null():
    for alias in (signatures.CF64_P, signatures.U8_P):
        assert issubclass(alias, ctypes.c_void_p)
        assert alias.from_param(None) is None
        alias.from_param(1234)  # an address, as callers pass array.ctypes.data
        with pytest.raises(TypeError):
            alias.from_param(1.5)


# ---------------------------------------------------------------- the parser itself

_SMALL = """
/* a comment with int imcorr_fake(void); inside */
#define IMCORR_ABI_VERSION 7
int imcorr_abi_version(void);
void imcorr_scale(const double *x, double *out, ptrdiff_t n,
                  double k);
int imcorr_count(const uint8_t *mask, size_t n, int flags);
"""


def test_parser_reads_prototypes_and_abi():
    protos, abi = parse_header(_SMALL)
    assert abi == 7
    assert protos == {
        "imcorr_abi_version": ("int", ()),
        "imcorr_scale": ("void", ("const double *", "double *", "ptrdiff_t", "double")),
        "imcorr_count": ("int", ("const uint8_t *", "size_t", "int")),
    }
    assert to_ctypes(protos)["imcorr_scale"] == (None, (signatures.CF64_P, signatures.F64_P, ctypes.c_ssize_t,
                                                        ctypes.c_double))


def test_parser_catches_mismatched_signatures():
    header = to_ctypes(parse_header(_SMALL)[0])
    good = {
        "imcorr_abi_version": (ctypes.c_int, ()),
        "imcorr_scale": (None, (signatures.CF64_P, signatures.F64_P, ctypes.c_ssize_t, ctypes.c_double)),
        "imcorr_count": (ctypes.c_int, (signatures.CU8_P, ctypes.c_size_t, ctypes.c_int)),
    }
    assert mismatches(header, good) == []
    bad = dict(good)
    bad["imcorr_scale"] = (None, (signatures.F64_P, signatures.F64_P, ctypes.c_int, ctypes.c_double))  # const, int
    bad["imcorr_count"] = (None, (signatures.CU8_P, ctypes.c_size_t))  # restype and a missing argument
    del bad["imcorr_abi_version"]
    bad["imcorr_extra"] = (None, ())
    found = mismatches(header, bad)
    assert found == [
        "imcorr_abi_version: in kernels.h, not in SIGNATURES",
        "imcorr_extra: in SIGNATURES, not in kernels.h",
        "imcorr_count: returns c_int in kernels.h, void in SIGNATURES",
        "imcorr_count: 3 arguments in kernels.h, 2 in SIGNATURES",
        "imcorr_scale: argument 0 is ptr_cdouble in kernels.h, ptr_double in SIGNATURES",
        f"imcorr_scale: argument 2 is {ctypes.c_ssize_t.__name__} in kernels.h, c_int in SIGNATURES",
    ]


def test_parser_rejects_unknown_types_and_duplicates():
    with pytest.raises(KeyError):
        to_ctypes(parse_header("int imcorr_x(const long double *p);")[0])
    with pytest.raises(ValueError, match="declared twice"):
        parse_header("int imcorr_x(int a);\nint imcorr_x(int a);")
