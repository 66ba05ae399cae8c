"""Compiled extension modules (built from ``src/_native/*.pyx``); see the ``.pyi`` stubs beside them."""
