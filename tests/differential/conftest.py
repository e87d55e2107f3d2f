import warnings

import pytest


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession per test process (each xdist worker starts its own)."""
    pytest.importorskip("pyspark", reason="the Spark differential suite needs the `spark` extra")
    from tests.differential.spark_runner import spark_session

    with warnings.catch_warnings():
        # pyspark warns that it does not fully support pandas 3; the suite never hands Spark any pandas.
        warnings.filterwarnings("ignore", message=".*pandas.*", category=FutureWarning)
        session = spark_session()
    yield session
    session.stop()
