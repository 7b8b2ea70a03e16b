"""Build the optional native kernels (``imcorr._native._kernels``).

All metadata lives in pyproject.toml; this file only declares the C extension. It is
``optional``: without a C compiler the install still succeeds and imcorr runs its
NumPy code paths (same results, slower). See docs/developing.md, "Native kernels".
"""

from glob import glob

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "imcorr._native._kernels",
            sources=sorted(glob("src/imcorr/_native/*.c")),
            depends=sorted(glob("src/imcorr/_native/*.h")),
            extra_compile_args=["-O3", "-fno-math-errno", "-fno-trapping-math", "-std=c99"],
            optional=True,
        )
    ]
)
