"""A string key column may come as Arrow's string view (another library's Arrow data): its rows hash as the same
strings do as plain strings, whichever way a long column is judged (its random sample of rows is taken from a
plain copy: Arrow has no take for views)."""

import pyarrow as pa
import pytest

from stream_nb.engine.keyhash import key_hashes


@pytest.mark.parametrize("rows", [100, 6_000])  # short: encoded; long: judged on a random sample first
@pytest.mark.parametrize("distinct", [False, True])
def test_a_string_view_column_hashes_as_the_same_plain_strings(rows, distinct):
    values = ([f"key-{i}" for i in range(rows - 4)] + ["", None, "é", "a "]) if distinct else \
        ["a", None, "", "é"] * (rows // 4)
    plain = pa.table({"k": pa.array(values, pa.string())})
    view = pa.table({"k": pa.array(values, pa.string()).cast(pa.string_view())})
    assert key_hashes(view, ["k"]).tolist() == key_hashes(plain, ["k"]).tolist()
    if distinct:
        assert key_hashes(view, ["k"], distinct_rows=True).tolist() == key_hashes(plain, ["k"]).tolist()
