"""Curio for the tests that use it. Curio 1.6, its latest release, reads
multiprocessing.connection.CHALLENGE, which Python 3.12 made private: where the import fails
for that reason (3.12.1 and 3.13 here), the Curio tests skip and say so."""

import sys

import pytest

try:
    import curio
except AttributeError as error:
    if sys.version_info < (3, 12) or "CHALLENGE" not in str(error):
        raise  # anywhere else Curio must work
    curio = None
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    reason = f"Curio 1.6 cannot be imported on Python {version} ({error})"
else:
    reason = ""

needs_curio = pytest.mark.skipif(curio is None, reason=reason)

__all__ = ["curio", "needs_curio"]
