import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.pyspark.sql import SparkSession


@pytest.fixture
def spark():
    return SparkSession.builder.getOrCreate()


@pytest.fixture
def events():
    """A memory stream of words at event times, read through PySpark's reader."""
    return sn.sources.memory("ts timestamp, word string, n bigint")


def at(seconds: float) -> pd.Timestamp:
    return pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=seconds)
