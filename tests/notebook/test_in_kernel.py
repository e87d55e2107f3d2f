"""The engine inside a real kernel (jupyter_client): it leaves the kernel's main thread quick to answer."""

from __future__ import annotations

from stream_nb.engine import loop


def test_in_a_kernel_the_engine_shares_the_gil_finely(kernel):
    """The main thread answers the notebook: it must not wait Python's default 5 ms for the GIL each time it
    wakes while a batch runs."""
    kernel.execute("import stream_nb as sn\nq = sn.start('SELECT value FROM r', sources={'r': sn.sources.rate(10)})")
    assert kernel.value("__import__('sys').getswitchinterval()") == loop.KERNEL_SWITCH_INTERVAL
    kernel.execute("q.stop()")
