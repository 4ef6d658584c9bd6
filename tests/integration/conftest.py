import os
import sys
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from loftserver import LoftServer  # noqa: E402


@pytest.fixture(scope="module")
def loft():
    """A whole loft server shared by the tests of one module."""
    server = LoftServer()
    server.start()
    yield server
    server.cleanup()
