"""Builds the tracer's optional C hot path (``nova_sim.trace._speedups``).

Everything else is in pyproject.toml. ``optional=True``: where no C compiler is found
the package installs without it and the tracer runs its Python reference
(``nova_sim/trace/tracer.py``); tests/trace/test_speedups.py says so loudly.
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("nova_sim.trace._speedups", ["nova_sim/trace/_speedups.c"], optional=True),
])
