"""``DataFrame``: a Spark SQL query (a sqlglot tree) over named inputs — streams, static tables, the memory
sinks of running queries. Each transformation wraps the query it came from; ``writeStream.start()`` hands the
SQL, its inputs and their watermarks to ``sn.start``; a static DataFrame runs on DuckDB when collected.
"""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from stream_nb.pyspark.errors import AnalysisException, not_supported
from stream_nb.pyspark.sql import execution
from stream_nb.pyspark.sql.column import Column, _as_col, _column_ref
from stream_nb.pyspark.sql.na import NO_VALUE
from stream_nb.pyspark.sql.types import (
    ArrayType,
    MapType,
    NumericType,
    Row,
    StructType,
    TimestampType,
    from_arrow_schema,
)
from stream_nb.types import to_pandas

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.group import GroupedData
    from stream_nb.pyspark.sql.session import SparkSession
    from stream_nb.pyspark.sql.streaming.readwriter import DataStreamWriter

_aliases = itertools.count(1)


class DataFrame:
    _group_state = None  # applyInPandasWithState's function on top of this query (pyspark/sql/group_state.py)

    def __init__(self, session: SparkSession, query: exp.Query, inputs: dict[str, Any], *,
                 streaming: bool, watermark: dict[str, tuple[str, str]] | None = None, alias: str | None = None):
        self.sparkSession = session
        self._query = query
        self._inputs = inputs           # name in FROM -> a Source (stream), a table, or a memory sink's query
        self._streaming = streaming
        self._watermark = dict(watermark or {})
        self._alias = alias
        self._schema: StructType | None = None

    # -- the SQL --------------------------------------------------------------------------------------------
    def _sql(self) -> str:
        return _spark_sql(self._query)

    def _from(self) -> exp.Expression:
        """This DataFrame as a FROM item: its table when it is one untouched input, else a subquery."""
        table = _bare_table(self._query)
        if table is not None and self._alias is None:
            return table.copy()
        if table is not None:
            return exp.alias_(table.copy(), self._alias, table=True, quoted=True)
        return self._query.subquery(self._alias or f"__t{next(_aliases)}", copy=True)

    def _derive(self, query: exp.Query, **changes: Any) -> DataFrame:
        args = {"streaming": self._streaming, "watermark": self._watermark, **changes}
        return DataFrame(self.sparkSession, query, dict(self._inputs), **args)

    def _select(self, items: list[exp.Expression]) -> DataFrame:
        dedup = _dedup_of_all(self._query)
        if dedup is not None and self._alias is None:
            # the engine deduplicates in the outermost SELECT only: a projection of a deduplication is the
            # same rows when it is written in the deduplicating SELECT itself
            query = exp.select(*items).from_(dedup.args["from_"].copy())
            query.set("distinct", dedup.args["distinct"].copy())
            query.set("hint", dedup.args["hint"].copy() if dedup.args.get("hint") else None)
            return self._derive(query)
        projection = _join_projection(self._query) if self._alias is None else None
        if projection is not None:
            # a projection of join(other, on=[names]) (a list of each side's columns) is that projection
            # replaced, each name it gives read as it gives it: both sides' columns of one name stay apart
            items = [_sides_named(self._query, item.copy()) for item in items]  # people.name: that side's
            return self._derive(self._query.copy().select(*_through(projection, items), append=False))
        if _star_of_rows(self._query) and self._alias is None:
            # a projection of a filter or a join is their own SELECT list: a join's sides keep their aliases
            # (df.select("i.ad", "c.at"), as Spark's resolver sees them) and the engine sees a side's filter
            # next to its stream (Spark pushes it below the watermark)
            items = [_sides_named(self._query, item.copy()) for item in items]  # (not the user's Column)
            return self._derive(self._query.copy().select(*items, append=False))
        return self._derive(exp.select(*items).from_(self._from()))

    def _refuse_ambiguous(self, items: list[exp.Expression]) -> None:
        """A name two of this DataFrame's columns have (both sides of a join), not said which (``select("name")``,
        ``df.name`` of this DataFrame), is ambiguous, as Spark's analyzer says (DuckDB would read the first)."""
        names = [n.lower() for n in self.columns]
        if len(set(names)) == len(names):
            return
        for item in items:
            for column in item.find_all(exp.Column):
                name, inputs = column.name, column.meta.get("inputs")
                if not column.table and isinstance(column.this, exp.Identifier) and names.count(name.lower()) > 1 \
                        and (not inputs or inputs >= set(self._inputs)):
                    raise _ambiguous(name, names.count(name.lower()))

    # -- what it is -----------------------------------------------------------------------------------------
    @property
    def isStreaming(self) -> bool:
        return self._streaming

    @property
    def schema(self) -> StructType:
        if self._schema is None:
            from stream_nb.pyspark.sql.nullability import never_null

            schema = from_arrow_schema(execution.schema_of(self))
            never = never_null(self._query, self._streaming, self._input_columns()) if self._query is not None \
                else set()
            for field in schema.fields:
                field.nullable = field.nullable and field.name not in never
                if isinstance(field.dataType, ArrayType) and f"{field.name}[]" in never:
                    field.dataType.containsNull = False  # a collected list's elements
            self._schema = schema
        return self._schema

    def _input_columns(self) -> dict[str, list[str]]:
        """The columns of each input that is a table or a stream, in order."""
        from stream_nb.sources import Source

        columns = {}
        for name, value in self._inputs.items():
            if isinstance(value, (Source, pa.Table)):
                columns[name] = list(value.schema.names)
            elif isinstance(value, pd.DataFrame):
                columns[name] = [str(c) for c in value.columns]
        return columns

    @property
    def columns(self) -> list[str]:
        return self.schema.fieldNames()

    @property
    def dtypes(self) -> list[tuple[str, str]]:
        return [(f.name, f.dataType.simpleString()) for f in self.schema.fields]

    def printSchema(self, level: int | None = None) -> None:
        print(self.schema.treeString())  # (Spark's, too, ends with an empty line)

    def explain(self, extended: bool | str | None = None, mode: str | None = None) -> None:
        print(execution.explain(self))

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            return self.__getattr__(item) if self._alias is None else _column_ref(f"{self._alias}.{item}")
        if isinstance(item, Column):
            return self.filter(item)
        if isinstance(item, (list, tuple)):
            return self.select(*item)
        raise TypeError(f"DataFrame[{item!r}]: expected a column name, a Column or a list")

    def __getattr__(self, name: str) -> Column:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _NOT_YET and name not in self.columns:
            raise AttributeError(f"DataFrame.{name} is not supported by stream_nb.pyspark yet (it is PySpark's "
                                 "DataFrame method, not a column of this DataFrame)")
        if name not in self.columns:
            raise AttributeError(f"'DataFrame' object has no attribute '{name}'")
        column = _column_ref(f"{self._alias}.{name}" if self._alias else name)
        # where it comes from, as Spark's attribute ids tell: df.id == other.id in a join names each side's
        column._expr.meta["inputs"] = frozenset(self._inputs)
        return column

    def __repr__(self) -> str:
        try:
            return f"DataFrame[{', '.join(f'{n}: {t}' for n, t in self.dtypes)}]"
        except (AnalysisException, ValueError):  # a DataFrame that does not plan still shows what it is
            return f"DataFrame<{self._sql()}>"

    # -- transformations ------------------------------------------------------------------------------------
    def select(self, *cols: Any) -> DataFrame:
        items: list[exp.Expression] = []
        for c in _flat(cols):
            items += self._struct_fields(c) or [_as_col(c)._named()]
        self._refuse_ambiguous(items)
        return self._select(items)

    def _struct_fields(self, c: Any) -> list[exp.Expression]:
        """``select("data.*")``: a struct column's fields, each a column of its own (as Spark expands it)."""
        if not (isinstance(c, str) and c.endswith(".*") and c.count(".") == 1):
            return []
        name = c[:-2]
        dtype = self.schema[name].dataType if name in self.columns else None
        if not isinstance(dtype, StructType):
            raise AnalysisException(f"Cannot resolve '{c}': `{name}` is not a struct column of {self.columns}",
                                    "CANNOT_RESOLVE_STAR_EXPAND")
        return [exp.alias_(exp.Dot(this=exp.column(name, quoted=True), expression=exp.to_identifier(f, quoted=True)),
                           f, quoted=True) for f in dtype.fieldNames()]

    def selectExpr(self, *expr: str | list[str]) -> DataFrame:
        from stream_nb.pyspark.sql.functions import expr as parse

        items = [parse(e)._named() for e in _flat(expr)]
        self._refuse_ambiguous(items)
        return self._select(items)

    def filter(self, condition: Column | str) -> DataFrame:
        from stream_nb.pyspark.sql.functions import expr as parse

        cond = parse(condition) if isinstance(condition, str) else condition
        missing = {c.name for c in cond._unaliased().find_all(exp.Column)} - set(self.columns)
        projection = _plain_projection(self._query)
        if missing and projection is not None and self._alias is None:
            # Spark's analyzer resolves a column the select dropped from the select's input
            # (the guide's df.select("device").where("signal > 10")): the filter goes under the projection
            return self._derive(projection.copy().where(cond._unaliased()))
        if _star_of_rows(self._query) and self._query.args.get("joins") and self._alias is None:
            # a filter of a join is its WHERE, where the sides keep their aliases: b.k reads b's k
            return self._derive(self._query.copy().where(_sides_named(self._query, cond._unaliased().copy())))
        return self._derive(exp.select(exp.Star()).from_(self._from()).where(cond._unaliased()))

    where = filter

    def withColumn(self, colName: str, col: Column) -> DataFrame:
        return self.withColumns({colName: col})

    def withColumns(self, *colsMap: dict[str, Column]) -> DataFrame:
        new = dict(colsMap[0]) if colsMap else {}
        for c in new.values():
            if not isinstance(c, Column):
                raise TypeError(f"[NOT_COLUMN] Argument `col` should be a Column, got {type(c).__name__}.")
        items, seen = [], set()
        for column in self._columns():  # every column of that name is replaced, as Spark's withColumns does
            name = column.alias_or_name
            if name in new:
                items.append(exp.alias_(new[name]._unaliased(), name, quoted=True))
                seen.add(name)
            else:
                items.append(column)
        items += [exp.alias_(c._unaliased(), n, quoted=True) for n, c in new.items() if n not in seen]
        return self._select(items)

    def withColumnRenamed(self, existing: str, new: str) -> DataFrame:
        return self.withColumnsRenamed({existing: new})

    def withColumnsRenamed(self, colsMap: dict[str, str]) -> DataFrame:
        renames = {old.lower(): new for old, new in colsMap.items()}  # names match case-insensitively, as Spark's
        return self._select([exp.alias_(c.unalias(), renames[c.alias_or_name.lower()], quoted=True)
                             if c.alias_or_name.lower() in renames else c for c in self._columns()])

    def drop(self, *cols: Column | str) -> DataFrame:
        """Columns dropped by name (every column of that name), or a Column taken from one side of a join
        (``a.join(b, a.k == b.k).drop(b.k)``) only that side's, as Spark drops by attribute."""
        columns = self._columns()
        for c in cols:
            if isinstance(c, str):  # case-insensitively, as Spark's analyzer resolves names
                columns = [k for k in columns if k.alias_or_name.lower() != c.lower()]
                continue
            named = _sides_named(self._query, c._unaliased().copy())
            if isinstance(named, exp.Dot) and isinstance(named.this, exp.Column) and not named.this.table:
                named = exp.column(named.name, named.this.name)  # col("y.k") of a side named y
            name = named.name if isinstance(named, (exp.Column, exp.Dot)) else c._name
            same = [k for k in columns if k.alias_or_name == name]
            if isinstance(named, exp.Column) and named.table and any(k.unalias().table == named.table for k in same):
                columns = [k for k in columns if (k.alias_or_name, k.unalias().table) != (name, named.table)]
            elif len(same) > 1:  # which one, only a join's own SELECT * knows (Spark: by attribute)
                raise _ambiguous(name, len(same))
            else:
                columns = [k for k in columns if k.alias_or_name != name]
        return self._select(columns)

    def _columns(self) -> list[exp.Column]:
        """Each column, to select it again: a join's qualified by its side (``__l1.k``, ``__r2.k``), since
        both sides may have a column of one name (Spark keeps both)."""
        from stream_nb.sources import Source

        projection = _join_projection(self._query) if self._alias is None else None
        if projection is not None:
            return [e.copy() for e in projection]  # each side's, as the join lists them
        if not (_star_of_rows(self._query) and self._query.args.get("joins") and self._alias is None):
            return [exp.column(n, quoted=True) for n in self.columns]
        columns = []
        for side in [self._query.args["from_"].this, *(j.this for j in self._query.args["joins"])]:
            reads = {t.name for t in side.find_all(exp.Table)}
            inputs = {n: v for n, v in self._inputs.items() if n in reads}
            alone = DataFrame(self.sparkSession, exp.select(exp.Star()).from_(side.copy()), inputs,
                              streaming=any(isinstance(v, Source) for v in inputs.values()),
                              watermark={n: w for n, w in self._watermark.items() if n in reads})
            if len(set(alone.columns)) < len(alone.columns):  # a side that is a join itself: its k's are not
                return [exp.column(n, quoted=True) for n in self.columns]  # told apart by the side's name
            columns += [exp.column(n, side.alias_or_name, quoted=True) for n in alone.columns]
        return columns

    def alias(self, alias: str) -> DataFrame:
        return DataFrame(self.sparkSession, self._query, dict(self._inputs), streaming=self._streaming,
                         watermark=self._watermark, alias=alias)

    def toDF(self, *cols: str) -> DataFrame:
        if len(cols) != len(self.columns):
            raise AnalysisException(f"toDF: the number of columns doesn't match. Old column names "
                                    f"({len(self.columns)}): {', '.join(self.columns)}. New column names "
                                    f"({len(cols)}): {', '.join(cols)}.", "_LEGACY_ERROR_TEMP_1186")
        return self.withColumnsRenamed(dict(zip(self.columns, cols)))

    def transform(self, func: Any, *args: Any, **kwargs: Any) -> DataFrame:
        return func(self, *args, **kwargs)

    def repartition(self, numPartitions: Any = None, *cols: Any) -> DataFrame:
        return self  # one process reads every partition: the rows, and so the result, are the same

    def coalesce(self, numPartitions: int) -> DataFrame:
        return self

    def hint(self, name: str, *parameters: Any) -> DataFrame:
        return self  # a planning hint (broadcast, ...): DuckDB plans its joins itself

    def groupBy(self, *cols: Any) -> GroupedData:
        from stream_nb.pyspark.sql.group import GroupedData

        return GroupedData(self, [_as_col(c) for c in _flat(cols)])

    groupby = groupBy

    def rollup(self, *cols: Any) -> GroupedData:
        """A group per prefix of ``cols``: (a, b), (a), and one over all rows."""
        from stream_nb.pyspark.sql.group import GroupedData

        return GroupedData(self, [_as_col(c) for c in _flat(cols)], "rollup")

    def cube(self, *cols: Any) -> GroupedData:
        """A group per subset of ``cols``."""
        from stream_nb.pyspark.sql.group import GroupedData

        return GroupedData(self, [_as_col(c) for c in _flat(cols)], "cube")

    def groupingSets(self, groupingSets: Sequence[Sequence[Any]], *cols: Any) -> GroupedData:
        """A group per set of ``groupingSets``; ``cols`` are the grouping columns the result shows."""
        from stream_nb.pyspark.sql.group import GroupedData

        sets = [[_as_col(c) for c in _flat(tuple(s))] for s in groupingSets]
        return GroupedData(self, [_as_col(c) for c in _flat(cols)], sets)

    def agg(self, *exprs: Any) -> DataFrame:
        return self.groupBy().agg(*exprs)

    def withWatermark(self, eventTime: str, delayThreshold: str) -> DataFrame:
        if not isinstance(delayThreshold, str) or not delayThreshold.strip():
            raise AnalysisException(f"Invalid delayThreshold {delayThreshold!r}", "CANNOT_PARSE_INTERVAL")
        field = self.schema[eventTime] if eventTime in self.columns else None
        if field is None:
            raise AnalysisException(f"A column or function parameter with name `{eventTime}` cannot be "
                                    f"resolved. Did you mean one of the following? {self.columns}.",
                                    "UNRESOLVED_COLUMN.WITH_SUGGESTION")
        if not isinstance(field.dataType, TimestampType):
            raise AnalysisException(f"Event time must be defined on a window or a timestamp, but {eventTime} is "
                                    f"of type {field.dataType.simpleString()}", "EVENT_TIME_IS_NOT_ON_TIMESTAMP_TYPE")
        if not self._streaming:
            return self  # Spark ignores a watermark on a static DataFrame
        if isinstance(self._query, exp.Union):
            return self._union_watermark(eventTime, delayThreshold)
        try:
            stream, column = execution.watermark_input(self, eventTime)
        except AnalysisException as err:  # a computed column: its stream seen through this query, if it can be
            stream = self._derived_stream() if err.getCondition() == "NOT_IMPLEMENTED" else None
            if stream is None:
                raise
            return stream.withWatermark(eventTime, delayThreshold)
        return self._derive(self._query, watermark={**self._watermark, stream: (column, delayThreshold)})

    def _union_watermark(self, column: str, delay: str) -> DataFrame:
        """withWatermark over a union of streams: one watermark node above the union, as Spark's, whose watermark
        is the latest event time of every row minus the delay. Each stream the union reads becomes a scan of
        its own (``execution.second_scan``), its column read into ``column`` carrying the delay, and the scans
        one node, so the query runs on the largest of their watermarks (``execution.watermark_policy``)."""
        from stream_nb.sources import Source
        from stream_nb.sql.resolve import union_selects

        index, read = self.columns.index(column), {}
        for branch in union_selects(self._query):
            side = DataFrame(self.sparkSession, branch, dict(self._inputs), streaming=True)
            stream, name = execution.watermark_input(side, side.columns[index])
            read[stream] = name
        scans = {s: execution.second_scan(s) for s in read if isinstance(self._inputs.get(s), Source)}
        for scan in scans.values():  # fresh names: marking them one node changes no other DataFrame's
            execution._same_watermark[scan] = next(iter(scans.values()))
        query = self._query.copy()
        for table in query.find_all(exp.Table):
            if table.name in scans and not table.args.get("db"):
                table.set("this", exp.to_identifier(scans[table.name]))
        watermark = {scans.get(n, n): w for n, w in self._watermark.items()}
        watermark.update({scans.get(s, s): (name, delay) for s, name in read.items()})
        return DataFrame(self.sparkSession, query, {scans.get(n, n): v for n, v in self._inputs.items()},
                         streaming=True, watermark=watermark, alias=self._alias)

    def _derived_stream(self) -> DataFrame | None:
        """This DataFrame as a stream of its own whose columns are what it computes (``sources/derived.py``), so
        that a watermark may go on one of them as on any stream's: for a stateless query of one stream, before
        any watermark (e.g. ``from_json(value).alias("data").select("data.*")`` over Kafka); else None."""
        from stream_nb.sources import Source
        from stream_nb.sources.derived import derived

        (name, source), = self._inputs.items() if len(self._inputs) == 1 else ((None, None),)
        if not isinstance(source, Source) or self._watermark or self._group_state is not None:
            return None
        sql = self._sql()
        try:
            stream = derived(source, sql, name)
        except Exception:  # noqa: BLE001 - not a stateless query of that stream alone: refused as before
            return None
        inner = self._derive(self._query)  # a query that starts reads a fresh reader of the stream, through sql
        input_name = execution.derived_input(name)
        df = DataFrame(self.sparkSession, exp.select(exp.Star()).from_(input_name), {input_name: stream},
                       streaming=True, alias=self._alias)
        return execution.with_reader(df, lambda: derived(execution.namespace(inner, fresh=True)[name], sql, name))

    def dropDuplicates(self, subset: list[str] | None = None) -> DataFrame:
        keys = list(subset) if subset else self.columns
        for key in keys:
            if key.lower() not in {c.lower() for c in self.columns}:
                raise _among(key, self.columns)
        query = exp.select(exp.Star()).from_(self._from())
        query.set("distinct", exp.Distinct(on=exp.Tuple(expressions=[exp.column(k, quoted=True) for k in keys])))
        return self._derive(query)

    drop_duplicates = dropDuplicates

    def dropDuplicatesWithinWatermark(self, subset: list[str] | None = None) -> DataFrame:
        """A key is kept until the watermark passes its first row's event time plus the delay (Spark 3.5+);
        on a static DataFrame, dropDuplicates."""
        from stream_nb.sql.dedup import WITHIN_WATERMARK

        dedup = self.dropDuplicates(subset)
        if self._streaming:
            dedup._query.set("hint", exp.Hint(expressions=[exp.var(WITHIN_WATERMARK)]))
        return dedup

    def distinct(self) -> DataFrame:
        if self._streaming:
            return self.dropDuplicates()  # Spark's Dataset.distinct() is dropDuplicates(): a stream's runs in append
        self._refuse_maps("distinct")
        return self._derive(exp.select(exp.Star()).from_(self._from()).distinct())

    def _refuse_maps(self, method: str) -> None:
        """A map column cannot be compared, so a static DataFrame's distinct or set operation is refused, as Spark
        refuses it (DuckDB would compare maps)."""
        for field in self.schema.fields:
            if isinstance(field.dataType, MapType):
                raise AnalysisException(f"The feature is not supported: Cannot have MAP type columns in DataFrame "
                                        f"which calls set operations ({method}), but the type of column "
                                        f"`{field.name}` is \"{field.dataType.simpleString().upper()}\".",
                                        "UNSUPPORTED_FEATURE.SET_OPERATION_ON_MAP_TYPE")

    # -- missing values (pyspark/sql/na.py) ----------------------------------------------------------------
    @property
    def na(self):
        from stream_nb.pyspark.sql.na import DataFrameNaFunctions

        return DataFrameNaFunctions(self)

    def replace(self, to_replace: Any, value: Any = NO_VALUE, subset: Any = None) -> DataFrame:
        from stream_nb.pyspark.sql.na import replace

        return replace(self, to_replace, value, subset)

    @property
    def stat(self):
        from stream_nb.pyspark.sql.stat import DataFrameStatFunctions

        return DataFrameStatFunctions(self)

    def corr(self, col1: str, col2: str, method: str | None = None) -> float:
        return self.stat.corr(col1, col2, method)

    def cov(self, col1: str, col2: str) -> float:
        return self.stat.cov(col1, col2)

    def sample(self, withReplacement: Any = None, fraction: Any = None, seed: int | None = None) -> DataFrame:
        """About ``fraction`` of the rows, each kept or not by a hash of its position and the seed (the same seed,
        the same rows; not the rows Spark's sampler picks). Sampling with replacement is not supported yet."""
        from stream_nb.pyspark.errors import PySparkTypeError, PySparkValueError
        from stream_nb.pyspark.sql import functions as F

        if isinstance(withReplacement, (int, float)) and not isinstance(withReplacement, bool):  # sample(0.5[, 3])
            withReplacement, fraction, seed = None, withReplacement, fraction if fraction is not None else seed
        if not isinstance(fraction, (int, float)) or isinstance(fraction, bool):
            raise PySparkTypeError(f"Argument `fraction` should be a float, got {type(fraction).__name__}.",
                                   "NOT_FLOAT")
        if withReplacement:
            raise not_supported("DataFrame.sample(withReplacement=True)")
        if not 0 <= fraction <= 1:
            raise PySparkValueError(f"requirement failed: Upper bound ({fraction}) must be <= 1.0"
                                    if fraction > 1 else f"requirement failed: Lower bound ({fraction}) must be "
                                    ">= 0.0", "INVALID_VALUE")
        if self._streaming:
            raise not_supported("DataFrame.sample of a streaming DataFrame")
        seed = random.randrange(2**31) if seed is None else int(seed)
        numbered = self.withColumn("__sample_row", F.monotonically_increasing_id())
        kept = numbered.where(F.expr(f"pmod(xxhash64(__sample_row, {seed}), 9007199254740992) < "
                                     f"{float(fraction) * 2.0 ** 53!r}"))
        return kept.drop("__sample_row")

    def unpivot(self, ids: Any, values: Any, variableColumnName: str, valueColumnName: str) -> DataFrame:
        """A row per id and value column: the ids, the column's name in ``variableColumnName``, its value in
        ``valueColumnName`` (values None: every column but the ids), as Spark's (a stream's rows too)."""
        from stream_nb.pyspark.sql import functions as F

        id_columns = [_as_col(c) for c in (ids if isinstance(ids, (list, tuple)) else [ids])]
        named = {c._name for c in id_columns}
        value_columns = [_as_col(c) for c in (values if isinstance(values, (list, tuple)) else [values])] \
            if values is not None else [F.col(n) for n in self.columns if n not in named]
        if not value_columns:
            raise AnalysisException("At least one value column needs to be specified for UNPIVOT, all columns "
                                    "specified as ids.", "UNPIVOT_REQUIRES_VALUE_COLUMNS")
        kinds = [f.dataType for f in self.select(*value_columns).schema.fields]
        if len({k.simpleString() for k in kinds}) > 1 and not all(isinstance(k, NumericType) for k in kinds):
            listed = ", ".join(sorted(f'"{k.simpleString().upper()}" (`{c._name}`)'
                                      for k, c in zip(kinds, value_columns, strict=True)))
            raise AnalysisException(f"Unpivot value columns must share a least common type, some types do not: "
                                    f"[{listed}].", "UNPIVOT_VALUE_DATA_TYPE_MISMATCH")
        pairs = F.explode(F.array(*[F.struct(F.lit(c._name).alias(variableColumnName), c.alias(valueColumnName))
                                    for c in value_columns]))
        return self.select(*id_columns, pairs.alias("__unpivot")).select(
            *[F.col(c._name) for c in id_columns], F.col(f"__unpivot.{variableColumnName}"),
            F.col(f"__unpivot.{valueColumnName}"))

    melt = unpivot

    def crosstab(self, col1: str, col2: str) -> DataFrame:
        return self.stat.crosstab(col1, col2)

    def approxQuantile(self, col: Any, probabilities: Any, relativeError: float) -> list:
        return self.stat.approxQuantile(col, probabilities, relativeError)

    def fillna(self, value: Any, subset: Any = None) -> DataFrame:
        from stream_nb.pyspark.sql.na import fill

        return fill(self, value, subset)

    def dropna(self, how: str = "any", thresh: int | None = None, subset: Any = None) -> DataFrame:
        from stream_nb.pyspark.sql.na import drop

        return drop(self, how, thresh, subset)

    def join(self, other: DataFrame, on: Any = None, how: str | None = None) -> DataFrame:
        from stream_nb.pyspark.sql.joins import join

        return join(self, other, on, how)

    def crossJoin(self, other: DataFrame) -> DataFrame:
        return self.join(other, how="cross")

    def union(self, other: DataFrame) -> DataFrame:
        # by position, as Spark's; a UNION ALL of streams is a stream, and what is built on it reads it as a
        # subquery (FROM (... UNION ALL ...): the input of groupBy, dropDuplicates, ...; sql/unions.py). A stream
        # on both sides is two inputs, each under its own withWatermark (Spark tracks one per node), reading the
        # stream's one reader (execution.second_scan)
        from stream_nb.pyspark.sql.joins import _second_scans

        other = _second_scans(self, other) if self._streaming and other._streaming else other
        if not (self._streaming or other._streaming) and len(self.columns) != len(other.columns):
            raise AnalysisException(f"UNION can only be performed on inputs with the same number of columns, but "
                                    f"the first input has {len(self.columns)} columns and the second input has "
                                    f"{len(other.columns)} columns.", "NUM_COLUMNS_MISMATCH")
        query = exp.union(exp.select(exp.Star()).from_(self._from()),
                          exp.select(exp.Star()).from_(other._from()), distinct=False)
        return DataFrame(self.sparkSession, query,
                         {**self._inputs, **other._inputs}, streaming=self._streaming or other._streaming,
                         watermark={**self._watermark, **other._watermark})

    unionAll = union

    # set operations of static DataFrames (a foreachBatch batch and a table, say), as Spark names them
    def subtract(self, other: DataFrame) -> DataFrame:
        return self._set_operation("subtract", exp.except_, other, distinct=True)

    def exceptAll(self, other: DataFrame) -> DataFrame:
        return self._set_operation("exceptAll", exp.except_, other, distinct=False)

    def intersect(self, other: DataFrame) -> DataFrame:
        return self._set_operation("intersect", exp.intersect, other, distinct=True)

    def intersectAll(self, other: DataFrame) -> DataFrame:
        return self._set_operation("intersectAll", exp.intersect, other, distinct=False)

    def _set_operation(self, method: str, build: Any, other: DataFrame, distinct: bool) -> DataFrame:
        if self._streaming or other._streaming:
            raise not_supported(f"DataFrame.{method} of a streaming DataFrame",
                                " (it is for static DataFrames, e.g. a foreachBatch batch)")
        self._refuse_maps(method)
        query = build(exp.select(exp.Star()).from_(self._from()), exp.select(exp.Star()).from_(other._from()),
                      distinct=distinct)
        return DataFrame(self.sparkSession, query, {**self._inputs, **other._inputs}, streaming=False)

    def unionByName(self, other: DataFrame, allowMissingColumns: bool = False) -> DataFrame:
        """By name (any case), as Spark's; with ``allowMissingColumns`` a column only one side has is NULL on the
        other, the right side's extra columns after the left's."""
        from stream_nb.pyspark.sql.functions import lit

        mine, theirs = dict(self.dtypes), dict(other.dtypes)
        named = {c.lower(): c for c in theirs}
        missing = [c for c in mine if c.lower() not in named]
        if missing and not allowMissingColumns:  # (allowMissingColumns=True: a NULL column)
            raise _among(missing[0], list(theirs))
        extra = [c for c in theirs if c.lower() not in {m.lower() for m in mine}]
        left = self.select(*mine, *[lit(None).cast(theirs[c]).alias(c) for c in extra]) if extra else self
        right = other.select(*[named[c.lower()] if c.lower() in named else lit(None).cast(t).alias(c)
                               for c, t in mine.items()], *extra)
        return left.union(right)

    def orderBy(self, *cols: Any, ascending: bool | list[bool] = True) -> DataFrame:
        order = [_as_col(c) for c in _flat(cols)]
        maps = {f.name for f in self.schema.fields if isinstance(f.dataType, MapType)} if not self._streaming else ()
        for c in order:
            key = c._unaliased().this if isinstance(c._unaliased(), exp.Ordered) else c._unaliased()
            if isinstance(key, exp.Column) and not key.table and key.name in maps:
                raise AnalysisException(f'Cannot resolve "{c._name}" due to data type mismatch: The `sortorder` '
                                        f'does not support ordering on type "{self.schema[key.name].dataType.simpleString().upper()}".',
                                        "DATATYPE_MISMATCH.INVALID_ORDERING_TYPE")
        flags = ascending if isinstance(ascending, list) else [ascending] * len(order)
        items = [c._unaliased() if isinstance(c._unaliased(), exp.Ordered)
                 else exp.Ordered(this=c._unaliased(), desc=not up, nulls_first=up) for c, up in zip(order, flags)]
        computed = [i for i, item in enumerate(items) if not isinstance(item.this, exp.Column)]
        if computed:  # orderBy(upper(s)) after groupBy(upper(s)): Spark sorts by the column that expression is
            columns = self.columns
            for i in computed:
                name = order[i]._unordered_name()
                if name in columns and columns.count(name) == 1:
                    items[i] = items[i].copy()
                    items[i].set("this", exp.column(name, quoted=True))
        return self._derive(exp.select(exp.Star()).from_(self._from()).order_by(*items))

    sort = orderBy

    def limit(self, num: int) -> DataFrame:
        query = self._query
        if isinstance(query, exp.Select) and query.args.get("order") and query.args.get("limit") is None:
            return self._derive(query.copy().limit(num))  # the first rows of that order (a subquery's is lost)
        return self._derive(exp.select(exp.Star()).from_(self._from()).limit(num))

    def createOrReplaceTempView(self, name: str) -> None:
        self.sparkSession._views[name] = self

    registerTempTable = createOrReplaceTempView

    def createTempView(self, name: str) -> None:
        if name in self.sparkSession._views:
            raise AnalysisException(f"Cannot create the temporary view `{name}` because it already exists.",
                                    "TEMP_TABLE_OR_VIEW_ALREADY_EXISTS")
        self.createOrReplaceTempView(name)

    createOrReplaceGlobalTempView = createOrReplaceTempView

    @property
    def writeStream(self) -> DataStreamWriter:
        from stream_nb.pyspark.sql.streaming.readwriter import DataStreamWriter

        if not self._streaming:
            raise AnalysisException("'writeStream' can be called only on streaming Dataset/DataFrame.",
                                    "WRITE_STREAM_NOT_ALLOWED")
        return DataStreamWriter(self)

    # -- actions (static DataFrames only, as in Spark) ------------------------------------------------------
    def toPandas(self) -> pd.DataFrame:
        """As PySpark 4's: timestamps naive in the session time zone (UTC), structs and maps as dicts (an integer
        field or value a float where one is NULL, the NULL None), integers numpy's (float64 where one is NULL)."""
        table = execution.static_arrow(self)
        frame = to_pandas(table)
        for i, arrow in enumerate(table.columns):  # by position: a join's two k's are two columns
            column = frame.iloc[:, i]
            if pa.types.is_struct(arrow.type) or pa.types.is_map(arrow.type):
                frame.isetitem(i, pd.Series(_pandas_values(arrow.to_pylist(), arrow.type), dtype=object))
            elif isinstance(column.dtype, pd.DatetimeTZDtype):
                frame.isetitem(i, column.dt.tz_convert("UTC").dt.tz_localize(None))
            elif isinstance(column.dtype, pd.core.arrays.integer.IntegerDtype):  # PySpark's: numpy integers,
                frame.isetitem(i, column.astype("float64" if column.hasnans else column.dtype.numpy_dtype))  # NaN a NULL
        return frame

    def collect(self) -> list[Row]:
        """PySpark's Rows, read from Arrow: a NULL is None and a NaN stays NaN (pandas would make both NaN)."""
        table = execution.static_arrow(self)
        columns = [[_from_arrow(v, column.type) for v in column.to_pylist()] for column in table.columns]
        return [Row._of(table.column_names, row) for row in zip(*columns)] if columns else \
            [Row() for _ in range(table.num_rows)]

    def count(self) -> int:
        return execution.static_arrow(self).num_rows

    def isEmpty(self) -> bool:
        return execution.static_arrow(self.limit(1)).num_rows == 0

    def tail(self, num: int) -> list[Row]:
        return self.collect()[-num:] if num > 0 else []

    # caching: the rows are computed when collected, on DuckDB in this process; a hint Spark may ignore too
    def cache(self) -> DataFrame:
        return self

    def persist(self, storageLevel: Any = None) -> DataFrame:
        return self

    def unpersist(self, blocking: bool = False) -> DataFrame:
        return self

    def checkpoint(self, eager: bool = True) -> DataFrame:
        return self

    localCheckpoint = checkpoint

    def first(self) -> Row | None:
        rows = self.limit(1).collect()
        return rows[0] if rows else None

    def head(self, n: int | None = None) -> Any:
        return self.first() if n is None else self.limit(n).collect()

    def take(self, num: int) -> list[Row]:
        return self.limit(num).collect()

    def describe(self, *cols: str | list[str]) -> DataFrame:
        """count, mean, stddev, min and max of each column named (none: each numeric and string one), as
        strings, a row each (PySpark's; ``summary.py``)."""
        from stream_nb.pyspark.sql.summary import DESCRIBE, summarize

        return summarize(self, _flat(cols), list(DESCRIBE))

    def summary(self, *statistics: str) -> DataFrame:
        """The statistics named (none: count, mean, stddev, min, 25%, 50%, 75%, max) of each numeric and
        string column, as strings, a row each (PySpark's; ``summary.py``)."""
        from stream_nb.pyspark.sql.summary import SUMMARY, summarize

        return summarize(self, [], list(statistics) or list(SUMMARY))

    def show(self, n: int = 20, truncate: bool | int = True, vertical: bool = False) -> None:
        from stream_nb.pyspark.sql.show import show_string

        print(show_string(execution.static_arrow(self.limit(n + 1)), n, truncate, vertical), end="")

    @property
    def write(self):
        from stream_nb.pyspark.sql.readwriter import DataFrameWriter

        if self._streaming:
            raise AnalysisException("'write' can not be called on streaming Dataset/DataFrame.",
                                    "WRITE_STREAM_NOT_ALLOWED")
        return DataFrameWriter(self)


# PySpark's DataFrame methods stream_nb.pyspark does not have: df.<one of them> says so, rather than looking for
# a column of that name
_NOT_YET = frozenset((
    "asTable", "colRegex", "createGlobalTempView", "foreach", "foreachPartition", "freqItems", "inputFiles",
    "isLocal", "lateralJoin", "mapInArrow", "mapInPandas", "mergeInto", "observe", "offset", "pandas_api",
    "randomSplit", "rdd", "sampleBy", "sortWithinPartitions", "storageLevel", "toArrow", "toJSON",
    "toLocalIterator", "transpose", "withMetadata", "writeTo"))


def _spark_sql(query: exp.Query) -> str:
    """Spark SQL text for the engine. sqlglot's Spark writer turns ``DISTINCT ON`` (the engine's words for
    dropDuplicates) into ROW_NUMBER() OVER, which a stream cannot run: those are written as they are."""
    tree, keys = query.copy(), {}
    for i, select in enumerate(tree.find_all(exp.Select)):
        distinct = select.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            keys[f"__distinct_on_{i}"] = distinct.args["on"].sql("spark")
            select.set("distinct", None)
            select.set("expressions", [exp.column(f"__distinct_on_{i}"), *select.expressions])
    text = tree.sql("spark")
    for marker, on in keys.items():  # after SELECT, or after its hint (/*+ WITHIN_WATERMARK */)
        text = text.replace(f" {marker}, ", f" DISTINCT ON {on} ")
    return text


def _plain_projection(query: exp.Query) -> exp.Select | None:
    """A SELECT that only projects rows one to one (no aggregation, DISTINCT, generator, ORDER or LIMIT)."""
    if not isinstance(query, exp.Select) or query.args.get("distinct") or query.args.get("group"):
        return None
    if any(query.args.get(k) for k in ("order", "limit", "having", "joins")):
        return None
    calls = [n for e in query.expressions for n in e.find_all(exp.AggFunc, exp.Explode, exp.Anonymous)]
    if any(not isinstance(c, exp.Anonymous) or c.name.lower() in ("explode", "window", "session_window")
           for c in calls):
        return None
    return query


def _dedup_of_all(query: exp.Query) -> exp.Select | None:
    """``SELECT DISTINCT ON (keys) * FROM x`` (dropDuplicates and nothing else), else None."""
    if not isinstance(query, exp.Select) or [type(e) for e in query.expressions] != [exp.Star]:
        return None
    distinct = query.args.get("distinct")
    if distinct is None or distinct.args.get("on") is None:
        return None
    return query if {k for k, v in query.args.items() if v} - {"hint"} == {"expressions", "from_", "distinct"} \
        else None


def _sides_named(query: exp.Select, item: exp.Expression) -> exp.Expression:
    """``item`` with each ``df.x`` (a column that knows the inputs of the DataFrame it was taken from) read
    through the one side of ``query``'s join that reads those inputs, as Spark resolves it by attribute id
    (``a.join(b, a.k == b.k).select(a.k, b.v)``); a column of a self-join's input stays as written."""
    joins = query.args.get("joins") or []
    marked = [c for c in item.find_all(exp.Column) if c.meta.get("inputs") and not c.table]
    if not joins or not marked:
        return item
    sides = [query.args["from_"].this, *(j.this for j in joins)]
    reads = [(side.alias_or_name, {t.name for t in side.find_all(exp.Table)}) for side in sides]
    for column in marked:
        owners = [alias for alias, tables in reads if column.meta["inputs"] <= tables]
        if len(owners) == 1 and owners[0]:
            column.set("table", exp.to_identifier(owners[0], quoted=True))
    return item


def _among(name: str, columns: list[str]) -> AnalysisException:
    """Spark's error for a name none of ``columns`` has (unionByName, dropDuplicates)."""
    return AnalysisException(f'Cannot resolve column name "{name}" among ({", ".join(columns)}).',
                             "UNRESOLVED_COLUMN_AMONG_FIELD_NAMES")


def _ambiguous(name: str, count: int) -> AnalysisException:
    """Spark's error for a name ``count`` columns have."""
    could = ", ".join([f"`{name}`"] * count)
    return AnalysisException(f"Reference `{name}` is ambiguous, could be: [{could}].", "AMBIGUOUS_REFERENCE")


def _join_projection(query: exp.Query) -> list[exp.Expression] | None:
    """The SELECT list of ``query`` when it is a list of columns over a join (``join(other, on=[names])``'s: the
    keys, then each side's other columns, qualified by side), else None."""
    if not isinstance(query, exp.Select) or not query.args.get("joins"):
        return None
    if not {k for k, v in query.args.items() if v} <= {"expressions", "from_", "joins", "where"}:
        return None
    items = query.expressions
    return items if all(isinstance(e.unalias(), (exp.Column, exp.Coalesce)) and not isinstance(e.unalias().this,
                                                                                              exp.Star)
                        for e in items) else None


def _through(projection: list[exp.Expression], items: list[exp.Expression]) -> list[exp.Expression]:
    """``items`` over a join's ``projection``: ``*`` its list, a name it gives once its expression (a name it
    gives twice is ambiguous, refused before), a side's qualified column as it is."""
    given: dict[str, list[exp.Expression]] = {}
    for e in projection:
        given.setdefault(e.alias_or_name.lower(), []).append(e.unalias())
    out = []
    for item in items:
        if isinstance(item, exp.Star):
            out += [e.copy() for e in projection]
            continue
        item = item.copy()
        if isinstance(item, exp.Column) and not item.table and len(given.get(item.name.lower(), [])) == 1:
            out.append(exp.alias_(given[item.name.lower()][0].copy(), item.name, quoted=True))
            continue
        for column in list(item.find_all(exp.Column)):
            found = given.get(column.name.lower(), [])
            if not column.table and isinstance(column.this, exp.Identifier) and len(found) == 1:
                column.replace(found[0].copy())
        out.append(item)
    return out


def _star_of_rows(query: exp.Query) -> bool:
    """Whether ``query`` is ``SELECT * FROM a [JOIN b ON ...] [WHERE ...]`` with a join or a filter."""
    used = {k for k, v in query.args.items() if v} if isinstance(query, exp.Select) else set()
    return [type(e) for e in query.expressions] == [exp.Star] and \
        {"expressions", "from_"} < used <= {"expressions", "from_", "joins", "where"}


def _bare_table(query: exp.Query) -> exp.Table | None:
    """The table of ``SELECT * FROM t`` (nothing else in the query), else None."""
    if not isinstance(query, exp.Select) or len(query.expressions) != 1 or not isinstance(query.expressions[0],
                                                                                           exp.Star):
        return None
    if {k for k, v in query.args.items() if v} != {"expressions", "from_"}:
        return None
    source = query.args.get("from_") or query.args.get("from")
    table = source.this if source is not None else None
    return table if isinstance(table, exp.Table) and not table.alias else None


def _flat(cols: tuple) -> list:
    return list(cols[0]) if len(cols) == 1 and isinstance(cols[0], (list, tuple)) else list(cols)


def _from_arrow(value: Any, dtype: pa.DataType | None = None) -> Any:
    """An Arrow value (of type ``dtype``) as PySpark's Row holds it: a naive datetime in the session time zone
    (UTC), a struct as a Row, a map as a dict; a NULL is None and a NaN a NaN already."""
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.UTC).replace(tzinfo=None)
    if isinstance(value, pa.MonthDayNano):  # an interval (ts - ts): Spark's day-to-second one, a timedelta
        return datetime.timedelta(days=value.months * 30 + value.days, microseconds=value.nanoseconds // 1000)
    if value is not None and dtype is not None and pa.types.is_map(dtype):  # Arrow's (key, value) pairs
        return {_from_arrow(k, dtype.key_type): _from_arrow(v, dtype.item_type) for k, v in value}
    if isinstance(value, dict):
        types = {f.name: f.type for f in dtype} if dtype is not None and pa.types.is_struct(dtype) else {}
        return Row(**{k: _from_arrow(v, types.get(k)) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        inner = dtype.value_type if dtype is not None and pa.types.is_list(dtype) else None
        return [_from_arrow(v, inner) for v in value]
    return value


def _pandas_values(values: list, dtype: pa.DataType) -> list:
    """A nested column's values as PySpark 4's toPandas gives them: a struct a dict, a map a dict, an integer a
    float where one of that field's (or map's) values is NULL, a timestamp naive in UTC, a NULL None."""
    if pa.types.is_struct(dtype):
        fields = {f.name: _pandas_values([None if v is None else v[f.name] for v in values], f.type) for f in dtype}
        return [None if v is None else {name: fields[name][row] for name in fields} for row, v in enumerate(values)]
    if pa.types.is_map(dtype):
        flat = _pandas_values([x for v in values if v is not None for _, x in v], dtype.item_type)
        out, at = [], 0
        for v in values:
            out.append(None if v is None else {_from_arrow(k, dtype.key_type): flat[at + j] for j, (k, _) in enumerate(v)})
            at += len(v) if v is not None else 0
        return out
    if pa.types.is_integer(dtype) and any(v is None for v in values):
        return [None if v is None else float(v) for v in values]
    return [_from_arrow(v, dtype) for v in values]
