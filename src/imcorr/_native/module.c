/* imcorr._native._kernels: a Python module with no Python-level functions.
 *
 * The kernels in the other files of this folder are plain C functions called through
 * ctypes (see imcorr._native and kernels.h), which releases the GIL for the duration of each call,
 * so row bands run on several threads at once. This file only makes the shared library
 * an importable extension module, which is how setuptools builds and installs it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "kernels.h"

static struct PyModuleDef ckernels_module = {
    PyModuleDef_HEAD_INIT, "_kernels",
    "Native kernels of imcorr, called through ctypes (see imcorr._native).", -1, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&ckernels_module); }

/* ABI version of the C functions; imcorr._native refuses a library of another version
 * (a stale build after an update) and falls back to NumPy. */
int imcorr_abi_version(void) { return IMCORR_ABI_VERSION; }
