"""Run keyed state on one of its two paths: numpy passes only, or the compiled kernels (``hashslots_kernels``)
for every size, so that tests cover both on the same inputs."""

import functools

import pytest

from stream_nb.engine import hashslots_kernels


@functools.cache
def loaded() -> hashslots_kernels.Kernels:
    kernels = hashslots_kernels.load()
    assert kernels is not None, "numba is a core dependency: its kernels must load"
    return kernels


def use(monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    """``which``: "compiled" (the kernels serve from the first hash) or "numpy" (they never do)."""
    kernels = loaded()
    monkeypatch.setattr(hashslots_kernels, "_kernels", kernels if which == "compiled" else None)
    monkeypatch.setattr(hashslots_kernels, "threshold", 2**62)  # the numpy path does not start loading them
