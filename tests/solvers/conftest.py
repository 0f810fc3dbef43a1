import pytest

from .fields import Linear


@pytest.fixture
def linear():
    return Linear()
