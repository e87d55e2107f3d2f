"""Each UDF program of ``udf_programs.py`` on real PySpark (local[2]) and on ``stream_nb.pyspark``: the same
memory-sink table after every input batch (as ``test_programs.py``)."""

from __future__ import annotations

import pytest

import tests.pyspark.udf_programs as programs
from tests.differential.spark_runner import difference
from tests.pyspark.test_programs import pyspark_modules, run, spark_wait, stream_nb_modules, stream_nb_wait
from tests.pyspark.udf_programs import PROGRAMS

pytestmark = pytest.mark.spark
_ = pyspark_modules, stream_nb_modules  # the fixtures, shared with test_programs.py


@pytest.fixture(scope="module")
def pyspark_with_functions(pyspark_modules):
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(programs)  # PySpark's workers cannot import the tests package
    return pyspark_modules


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_program_gives_pysparks_table_after_every_batch(prog, pyspark_with_functions, stream_nb_modules, tmp_path):
    expected = run(prog, pyspark_with_functions, tmp_path / "pyspark", spark_wait)
    got = run(prog, stream_nb_modules, tmp_path / "stream_nb", stream_nb_wait)
    for k, ((spark_columns, spark_rows), (columns, rows)) in enumerate(zip(expected, got, strict=True)):
        assert columns == spark_columns, f"{prog.name}: columns differ"
        diff = difference(spark_rows, rows)
        assert diff is None, f"{prog.name}: the table differs after input batch {k}:\n{diff}"
