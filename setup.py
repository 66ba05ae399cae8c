"""Build script: compiles every ``src/_native/*.pyx`` into ``shrivenquant._native.<name>``.

Metadata lives in ``pyproject.toml``; this file only declares the extension modules. Hot-module
directives (``boundscheck``/``wraparound`` off) are set at the top of each ``.pyx`` itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
NATIVE = Path("src") / "_native"


def _extensions() -> list[Extension]:
    compile_args = ["-O3", "-fno-strict-aliasing", "-pthread"] if sys.platform != "win32" else ["/O2"]
    # -pthread: the book's two-thread batch and the WAL's background writer use pthreads (in libc from
    # glibc 2.34 on; older C libraries need the flag at link time too).
    link_args = ["-pthread"] if sys.platform != "win32" else []
    if os.environ.get("SHRIVENQUANT_NATIVE_ARCH"):
        compile_args.append(f"-march={os.environ['SHRIVENQUANT_NATIVE_ARCH']}")
    # SHRIVENQUANT_BUILD_ONLY=book,events builds just those modules (with `build_ext --inplace`, for
    # quick rebuilds while developing one module); unset, every module is built.
    only = {m for m in os.environ.get("SHRIVENQUANT_BUILD_ONLY", "").split(",") if m}
    exts = []
    for pyx in sorted((HERE / NATIVE).glob("*.pyx")):
        if only and pyx.stem not in only:
            continue
        exts.append(
            Extension(
                name=f"shrivenquant._native.{pyx.stem}",
                sources=[str(NATIVE / pyx.name)],
                include_dirs=[str(NATIVE), np.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
                extra_compile_args=compile_args,
                extra_link_args=link_args,
            )
        )
    return exts


setup(
    ext_modules=cythonize(
        _extensions(),
        include_path=[str(NATIVE)],
        compiler_directives={"language_level": "3", "embedsignature": True},
        annotate=False,
    ),
)
