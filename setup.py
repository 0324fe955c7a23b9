"""Build the Cython hot paths in relay/_fast.

A missing compiler or Cython fails the build loudly: relay never installs silently
without its compiled modules. RELAY_NO_EXTENSIONS=1 selects the pure twins at run time.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

EXTENSIONS = [
    Extension(f"relay._fast._{name}_c", [f"relay/_fast/_{name}_c.pyx"], extra_compile_args=["-O3"])
    for name in ("sse", "tokens", "ratio", "text")
]

setup(
    ext_modules=cythonize(
        EXTENSIONS,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    ),
)
