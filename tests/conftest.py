import pytest

import stream_nb as sn


@pytest.fixture(autouse=True)
def _no_query_outlives_its_test():
    yield
    sn.stop_all()


@pytest.fixture
def engine_has_run_over():
    """``engine_has_run_over(source)`` waits until the engine has run a batch over every row in ``source`` now,
    instead of sleeping: a query on its default trigger over the same source, on the same engine loop, catches
    up and stops. After it, a query that ran no batch (manual trigger, paused) ran none by its own rule."""
    def wait(source, timeout: float = 10) -> None:
        witness = sn.start("SELECT * FROM s", sources={"s": source}, name="engine_witness")
        try:
            witness.process_all_available(timeout=timeout)
            assert witness.last_progress is not None, "the witness query ran no batch: is the source empty?"
        finally:
            witness.stop()
    return wait
