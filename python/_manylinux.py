"""pipenv-fhs: pip may install manylinux wheels here.

This module sits first on PYTHONPATH inside a pipenv-fhs environment, alone in
its directory, so that it wins over any other _manylinux module (a
distribution's that says no). pip checks the glibc version before it asks, so
this can only admit wheels the environment's glibc runs; the environment
provides the libraries they link to. It must print nothing.
"""

manylinux1_compatible = True
manylinux2010_compatible = True
manylinux2014_compatible = True


def manylinux_compatible(tag_major, tag_minor, tag_arch):
    """PEP 600: every manylinux_X_Y that the glibc check let through fits."""
    return True
