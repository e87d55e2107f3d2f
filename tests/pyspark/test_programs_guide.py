"""The guide's programs (programs_guide.py) on real PySpark (local[2]) and on ``stream_nb.pyspark``: the same
tables after every batch, compared exactly as test_programs.py compares programs.py's. Run alone with
``python -m pytest -m spark tests/pyspark/test_programs_guide.py``.
"""

from __future__ import annotations

import pytest

from tests.pyspark import test_programs as base
from tests.pyspark.programs_guide import GUIDE

pytestmark = pytest.mark.spark

pyspark_modules = base.pyspark_modules  # the module-scoped sessions, as test_programs.py makes them
stream_nb_modules = base.stream_nb_modules


@pytest.mark.parametrize("prog", base.marked(GUIDE))
def test_guide_program_gives_pysparks_table_after_every_batch(prog, pyspark_modules, stream_nb_modules, tmp_path):
    base.test_program_gives_pysparks_table_after_every_batch(prog, pyspark_modules, stream_nb_modules, tmp_path)
