"""Build the optional native kernels (``imcorr._ckernels``).

All metadata lives in pyproject.toml; this file only declares the C extension. It is
``optional``: without a C compiler the install still succeeds and imcorr runs its
NumPy code paths (same results, slower). See docs/developing.md, "Native kernels".
"""

from glob import glob

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "imcorr._ckernels",
            sources=sorted(glob("src/imcorr/_c/*.c")),
            depends=sorted(glob("src/imcorr/_c/*.h")),
            extra_compile_args=["-O3", "-fno-math-errno", "-fno-trapping-math", "-std=c99"],
            optional=True,
        )
    ]
)
