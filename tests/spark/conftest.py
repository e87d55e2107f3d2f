import warnings
from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(session, config, items):
    """These tests first: a process holds one SparkContext, and theirs is on a local cluster, which the
    differential suite's ``getOrCreate`` then shares (its local[2] session, made first, would leave no room)."""
    items.sort(key=lambda item: _HERE not in Path(str(item.fspath)).parents)


@pytest.fixture(scope="session")
def cluster_spark():
    """A SparkSession on a local standalone cluster of two one-core workers, one per test process."""
    pytest.importorskip("pyspark", reason="the Spark engine's tests need the `spark` extra")
    from pyspark.sql import SparkSession

    import stream_nb as sn
    from stream_nb.spark.session import session

    active = SparkSession.getActiveSession()
    if active is not None:
        pytest.fail(f"a SparkSession on {active.sparkContext.master} already holds this process; "
                    "run tests/spark first or alone (pytest -m spark tests/spark)")
    with sn.spark.local_cluster(workers=2, cores=1, memory="1g") as master:
        with warnings.catch_warnings():
            # pyspark warns that it does not fully support pandas 3; these tests hand Spark no pandas.
            warnings.filterwarnings("ignore", message=".*pandas.*", category=FutureWarning)
            spark = session(master)
        spark.conf.set("spark.sql.shuffle.partitions", "2")  # two one-core workers
        yield spark
        spark.stop()
