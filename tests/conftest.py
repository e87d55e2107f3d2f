import pytest

import stream_nb as sn


@pytest.fixture(autouse=True)
def _no_query_outlives_its_test():
    yield
    sn.stop_all()
