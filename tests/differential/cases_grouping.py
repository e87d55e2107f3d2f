"""GROUP BY ROLLUP, CUBE and GROUPING SETS on a stream, for the Spark differential suite
(``test_spark_cases.py``): the subtotals Spark emits per grouping set, with ``grouping()`` and
``grouping_id()``, in update, complete and append (over windows with a watermark).

A row whose own device is NULL and a subtotal over all devices both read device NULL: in update mode their
keys differ by ``grouping_id()``, so the cases there select it and key on it, as a Spark user reading the
rows apart would.
"""

from __future__ import annotations

from tests.differential.cases import SITES, t
from tests.differential.spark_runner import Case

# Two sites, three devices, a device that is NULL, a temp that is NULL; out of order; three batches.
_READINGS = (
    ((t(1), "north", "a", 20.0), (t(2), "north", "b", 22.5), (t(3), "south", "a", 18.0),
     (t(4), "south", None, 30.0), (t(5), "north", "a", None)),
    ((t(6), "north", "b", 19.0), (t(12), "south", "c", 25.0), (t(7), "south", "a", 21.5)),
    ((t(14), "north", "c", 17.25), (t(3), "north", "a", 40.0), (t(25), "south", None, 11.0),
     (t(15), "south", "c", -2.0)),
)

CASES: list[Case] = [
    Case(
        name="rollup_update",
        sql="SELECT site, device, count(*) AS n, sum(temp) AS total, grouping_id() AS g "
            "FROM events GROUP BY ROLLUP(site, device)",
        output_mode="update", key=("site", "device", "g"), schema=SITES, batches=_READINGS,
        why="a row per (site, device), per site and one grand total; a NULL device beside the subtotal's NULL",
    ),
    Case(
        name="cube_having_grouping_complete",
        sql="SELECT site, device, grouping(site) AS gs, grouping(device) AS gd, avg(temp) AS mean, "
            "max(temp) AS hottest FROM events GROUP BY CUBE(site, device) HAVING count(*) > 1",
        output_mode="complete", schema=SITES, batches=_READINGS,
        why="all four sets, grouping() as tinyint, HAVING over the expanded groups",
    ),
    Case(
        name="grouping_sets_in_windows_append",
        sql="SELECT window.start AS start, site, device, count(*) AS n, grouping_id() AS g "
            "FROM events GROUP BY window(ts, '10 seconds'), GROUPING SETS ((site), (device), ())",
        output_mode="append", watermark=("ts", "5 seconds"), schema=SITES, batches=_READINGS,
        why="the window in every set: each set's rows of a window come out once the watermark passes it",
    ),
    Case(
        name="with_rollup_spark_names_complete",
        sql="SELECT upper(site), device, count(device), min(temp) FROM events WHERE temp > 0 "
            "GROUP BY site, device WITH ROLLUP",
        output_mode="complete", schema=SITES, batches=_READINGS,
        why="Spark's names for unaliased items, WHERE before the expansion, count(device) over the row's own "
            "device in every set",
    ),
    Case(
        name="hive_grouping_sets_filter_and_ordinal_complete",
        sql="SELECT site, device, count(*) FILTER (WHERE temp > 20) AS warm, grouping_id() AS g "
            "FROM events GROUP BY site, device GROUPING SETS ((2), ())",
        output_mode="complete", schema=SITES, batches=_READINGS,
        why="Hive's form (the sets after the keys, their order the keys'), an ordinal in a set, and FILTER "
            "reading each row's own device in every set",
    ),
    Case(
        name="rollup_of_a_struct_key_complete",
        sql="SELECT named_struct('site', site, 'device', device) AS place, count(*) AS n, grouping_id() AS g "
            "FROM events GROUP BY ROLLUP(named_struct('site', site, 'device', device))",
        output_mode="complete", schema=SITES, batches=_READINGS,
        why="the grand total's key is a NULL struct, not a struct of NULLs (which a row of NULL site and "
            "device would be)",
    ),
    Case(
        name="a_set_listed_twice_complete",
        sql="SELECT site, count(*) AS n, grouping_id() AS g FROM events GROUP BY GROUPING SETS ((site), (site), ())",
        output_mode="complete", schema=SITES, batches=_READINGS,
        why="Spark expands a row once per set as listed: a set listed twice gives its rows twice",
    ),
    Case(
        name="plain_key_beside_cube_update",
        sql="SELECT site, device, sum(temp) AS total, grouping_id() AS g FROM events GROUP BY site, CUBE(device)",
        output_mode="update", key=("site", "device", "g"), schema=SITES, batches=_READINGS,
        why="a plain key is in every set: per (site, device) and per site",
    ),
]

REFUSALS: list[Case] = [
    Case(
        name="grouping_id_of_some_keys",
        sql="SELECT window.start AS start, site, count(*) AS n, grouping_id(site) AS g "
            "FROM events GROUP BY window(ts, '10 seconds'), ROLLUP(site)",
        output_mode="update", schema=SITES, batches=_READINGS[:1],
        why="Spark's GROUPING_ID_COLUMN_MISMATCH: grouping_id's columns must be all the grouping columns",
    ),
]
