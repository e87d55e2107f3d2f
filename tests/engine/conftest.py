"""Fixtures of the engine's tests."""

import pytest

from tests.engine.kernel_paths import use


@pytest.fixture(params=["numpy", "compiled"])
def kernel_path(request, monkeypatch):
    """Keyed state's every operation on one path (``kernel_paths.use``): a test taking it runs on both."""
    use(monkeypatch, request.param)
    return request.param
