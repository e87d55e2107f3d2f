"""Spark's data types (``pyspark.sql.types``): ``simpleString``, ``json``, ``fieldNames``, DDL parsing.

>>> StructType([StructField("ts", TimestampType()), StructField("v", LongType())]).simpleString()
'struct<ts:timestamp,v:bigint>'
>>> _parse_datatype_string("a int, b array<string>").fieldNames()
['a', 'b']
"""

from __future__ import annotations

import json as _json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp


class DataType:
    """The base of Spark's types; equal when their ``simpleString`` is."""

    _simple: str | None = None  # Spark's SQL name when it is not the type name (int for IntegerType)

    @classmethod
    def typeName(cls) -> str:
        return cls.__name__[:-4].lower()

    def simpleString(self) -> str:
        return self._simple or self.typeName()

    def jsonValue(self) -> Any:
        return self.typeName()

    def json(self) -> str:
        return _json.dumps(self.jsonValue(), separators=(",", ":"), sort_keys=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataType) and type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(self.simpleString())


class NullType(DataType):
    _simple = "void"


class NumericType(DataType): pass      # PySpark's abstract kinds: isinstance(t, NumericType) asks for a number
class IntegralType(NumericType): pass
class FractionalType(NumericType): pass


class StringType(DataType): pass
class BinaryType(DataType): pass
class BooleanType(DataType): pass
class DateType(DataType): pass
class TimestampType(DataType): pass
class DoubleType(FractionalType): pass
class FloatType(FractionalType): pass


class TimestampNTZType(DataType):
    @classmethod
    def typeName(cls) -> str:
        return "timestamp_ntz"


class DayTimeIntervalType(DataType):
    """Spark's ``interval day to second`` (what ``ts - ts`` gives; a ``datetime.timedelta`` in a Row)."""

    DAY, HOUR, MINUTE, SECOND = 0, 1, 2, 3
    _FIELDS = ("day", "hour", "minute", "second")

    def __init__(self, startField: int = DAY, endField: int = SECOND):
        self.startField, self.endField = startField, endField

    @classmethod
    def typeName(cls) -> str:
        return "daytimeinterval"

    def simpleString(self) -> str:
        start, end = self._FIELDS[self.startField], self._FIELDS[self.endField]
        return f"interval {start}" if start == end else f"interval {start} to {end}"

    def jsonValue(self) -> Any:
        return self.simpleString()

    def __repr__(self) -> str:
        return f"DayTimeIntervalType({self.startField}, {self.endField})"


class ByteType(IntegralType):
    _simple = "tinyint"


class ShortType(IntegralType):
    _simple = "smallint"


class IntegerType(IntegralType):
    _simple = "int"


class LongType(IntegralType):
    _simple = "bigint"


class DecimalType(FractionalType):
    def __init__(self, precision: int = 10, scale: int = 0):
        self.precision, self.scale = precision, scale

    def simpleString(self) -> str:
        return f"decimal({self.precision},{self.scale})"

    def jsonValue(self) -> str:
        return self.simpleString()

    def __repr__(self) -> str:
        return f"DecimalType({self.precision},{self.scale})"  # (PySpark 4 writes no space)


class ArrayType(DataType):
    def __init__(self, elementType: DataType, containsNull: bool = True):
        self.elementType, self.containsNull = elementType, containsNull

    def simpleString(self) -> str:
        return f"array<{self.elementType.simpleString()}>"

    def jsonValue(self) -> dict:
        return {"type": "array", "elementType": self.elementType.jsonValue(), "containsNull": self.containsNull}

    def __repr__(self) -> str:
        return f"ArrayType({self.elementType!r}, {self.containsNull})"


class MapType(DataType):
    def __init__(self, keyType: DataType, valueType: DataType, valueContainsNull: bool = True):
        self.keyType, self.valueType, self.valueContainsNull = keyType, valueType, valueContainsNull

    def simpleString(self) -> str:
        return f"map<{self.keyType.simpleString()},{self.valueType.simpleString()}>"

    def jsonValue(self) -> dict:
        return {"type": "map", "keyType": self.keyType.jsonValue(), "valueType": self.valueType.jsonValue(),
                "valueContainsNull": self.valueContainsNull}

    def __repr__(self) -> str:
        return f"MapType({self.keyType!r}, {self.valueType!r}, {self.valueContainsNull})"


class StructField(DataType):
    def __init__(self, name: str, dataType: DataType, nullable: bool = True, metadata: dict | None = None):
        self.name, self.dataType, self.nullable, self.metadata = name, dataType, nullable, metadata or {}

    def simpleString(self) -> str:
        return f"{self.name}:{self.dataType.simpleString()}"

    def jsonValue(self) -> dict:
        return {"name": self.name, "type": self.dataType.jsonValue(), "nullable": self.nullable,
                "metadata": self.metadata}

    def __repr__(self) -> str:
        return f"StructField('{self.name}', {self.dataType!r}, {self.nullable})"


class StructType(DataType):
    """Spark's row type; ``add`` chains as in PySpark.

    >>> StructType().add("a", "int").add("b", StringType()).json()
    '{"fields":[{"metadata":{},"name":"a","nullable":true,"type":"integer"},{"metadata":{},"name":"b","nullable":true,"type":"string"}],"type":"struct"}'
    """

    def __init__(self, fields: list[StructField] | None = None):
        self.fields = list(fields or [])

    def add(self, field: str | StructField, data_type: str | DataType | None = None, nullable: bool = True,
            metadata: dict | None = None) -> StructType:
        if isinstance(field, StructField):
            self.fields.append(field)
        else:
            if data_type is None:
                raise TypeError("StructType.add: give a StructField, or a name and a data type")
            dtype = _parse_datatype_string(data_type) if isinstance(data_type, str) else data_type
            self.fields.append(StructField(field, dtype, nullable, metadata))
        return self

    def fieldNames(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def names(self) -> list[str]:
        return self.fieldNames()

    def simpleString(self) -> str:
        return f"struct<{','.join(f.simpleString() for f in self.fields)}>"

    def jsonValue(self) -> dict:
        return {"type": "struct", "fields": [f.jsonValue() for f in self.fields]}

    def treeString(self) -> str:
        lines = ["root"]
        _tree(self, lines, " |")
        return "\n".join(lines) + "\n"

    def __iter__(self) -> Iterator[StructField]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __getitem__(self, key: int | str) -> StructField:
        if isinstance(key, str):
            for f in self.fields:
                if f.name == key:
                    return f
            raise KeyError(f"No StructField named {key}")
        return self.fields[key]

    def __repr__(self) -> str:
        return f"StructType([{', '.join(repr(f) for f in self.fields)}])"


def _tree(dtype: DataType, lines: list[str], prefix: str) -> None:
    """Spark's ``buildFormattedString``: a struct's fields, an array's element, a map's key and value, each a
    line under ``prefix`` and its own type's lines one level in."""
    def line(name: str, child: DataType, note: str) -> None:
        lines.append(f"{prefix}-- {name}: {_tree_type(child)}{note}")
        _tree(child, lines, prefix + "    |")
    if isinstance(dtype, StructType):
        for f in dtype.fields:
            line(f.name, f.dataType, f" (nullable = {str(f.nullable).lower()})")
    elif isinstance(dtype, ArrayType):
        line("element", dtype.elementType, f" (containsNull = {str(dtype.containsNull).lower()})")
    elif isinstance(dtype, MapType):
        line("key", dtype.keyType, "")
        line("value", dtype.valueType, f" (valueContainsNull = {str(dtype.valueContainsNull).lower()})")


def _tree_type(dtype: DataType) -> str:
    return dtype.simpleString() if isinstance(dtype, DecimalType) else dtype.typeName()  # Spark's printSchema


StructType.typeName = classmethod(lambda cls: "struct")
StructField.typeName = classmethod(lambda cls: "structfield")
IntegerType.typeName = classmethod(lambda cls: "integer")
TimestampType.typeName = classmethod(lambda cls: "timestamp")
NullType.typeName = classmethod(lambda cls: "void")

_SIMPLE = {
    "STRING": StringType, "VARCHAR": StringType, "CHAR": StringType, "TEXT": StringType, "BINARY": BinaryType,
    "VARBINARY": BinaryType, "BOOLEAN": BooleanType, "DATE": DateType, "TIMESTAMP": TimestampType,
    "TIMESTAMPTZ": TimestampType, "TIMESTAMPLTZ": TimestampType, "TIMESTAMPNTZ": TimestampNTZType,
    "DATETIME": TimestampNTZType, "DOUBLE": DoubleType, "FLOAT": FloatType, "TINYINT": ByteType,
    "SMALLINT": ShortType, "INT": IntegerType, "BIGINT": LongType, "NULL": NullType,
}


def _from_sqlglot(dtype: exp.DataType) -> DataType:
    name = dtype.this.name
    if name in _SIMPLE:
        return _SIMPLE[name]()
    if name == "DECIMAL":
        params = [int(p.name) for p in dtype.expressions]
        return DecimalType(*params) if params else DecimalType()
    if name == "ARRAY":
        return ArrayType(_from_sqlglot(dtype.expressions[0]))
    if name == "MAP":
        return MapType(_from_sqlglot(dtype.expressions[0]), _from_sqlglot(dtype.expressions[1]))
    if name == "STRUCT":
        return StructType([StructField(f.name, _from_sqlglot(f.args["kind"])) for f in dtype.expressions])
    raise ValueError(f"[UNSUPPORTED_DATATYPE] Unsupported data type {dtype.sql('spark')!r}.")


def _parse_datatype_string(s: str) -> DataType:
    """A DDL string as PySpark reads it: a type (``'int'``), or fields (``'a int, b string'``, ``'a: int'``)."""
    text = s.strip()
    try:
        return _from_sqlglot(exp.DataType.build(text, dialect="spark"))
    except (sqlglot.errors.ParseError, ValueError):
        pass
    try:
        create = sqlglot.parse_one(f"CREATE TABLE t ({text.replace(':', ' ')})", read="spark")
        columns = create.this.expressions
        if not columns or any(not isinstance(c, exp.ColumnDef) or c.args.get("kind") is None for c in columns):
            raise ValueError
        return StructType([StructField(c.name, _from_sqlglot(c.args["kind"])) for c in columns])
    except (sqlglot.errors.ParseError, ValueError):
        raise ValueError(f"[PARSE_SYNTAX_ERROR] Syntax error: cannot parse the data type {s!r}.") from None


def from_arrow(dtype: pa.DataType) -> DataType:
    """Spark's type of an Arrow type (the engine's tables)."""
    if pa.types.is_struct(dtype):
        return StructType([StructField(f.name, from_arrow(f.type), f.nullable) for f in dtype])
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return ArrayType(from_arrow(dtype.value_type))
    if pa.types.is_map(dtype):
        return MapType(from_arrow(dtype.key_type), from_arrow(dtype.item_type))
    if pa.types.is_timestamp(dtype):
        return TimestampType() if dtype.tz else TimestampNTZType()
    if pa.types.is_decimal(dtype):
        return DecimalType(dtype.precision, dtype.scale)
    if pa.types.is_interval(dtype) or pa.types.is_duration(dtype):
        return DayTimeIntervalType()
    if pa.types.is_dictionary(dtype):
        return from_arrow(dtype.value_type)
    for check, kind in ((pa.types.is_string, StringType), (pa.types.is_large_string, StringType),
                        (pa.types.is_int8, ByteType), (pa.types.is_int16, ShortType),
                        (pa.types.is_int32, IntegerType), (pa.types.is_int64, LongType),
                        (pa.types.is_uint8, ShortType), (pa.types.is_uint16, IntegerType),
                        (pa.types.is_uint32, LongType), (pa.types.is_uint64, DecimalType),
                        (pa.types.is_float32, FloatType), (pa.types.is_float64, DoubleType),
                        (pa.types.is_boolean, BooleanType), (pa.types.is_date, DateType),
                        (pa.types.is_binary, BinaryType), (pa.types.is_large_binary, BinaryType),
                        (pa.types.is_null, NullType)):
        if check(dtype):
            return kind(20, 0) if kind is DecimalType else kind()
    return StringType()


def from_arrow_schema(schema: pa.Schema) -> StructType:
    return StructType([StructField(f.name, from_arrow(f.type), f.nullable) for f in schema])


def to_ddl(schema: StructType | str) -> str:
    """A schema as the DDL string stream_nb's sources read."""
    if isinstance(schema, str):
        return schema
    return ", ".join(f"`{f.name}` {ddl_type(f.dataType)}" for f in schema.fields)


def ddl_type(dtype: DataType) -> str:
    """A type as DDL, every struct field's name quoted (``simpleString`` leaves ``select`` or ``a b`` bare).

    >>> ddl_type(ArrayType(StructType([StructField("select", LongType())])))
    'array<struct<`select`: bigint>>'
    """
    if isinstance(dtype, StructType):
        return "struct<" + ", ".join(f"`{f.name}`: {ddl_type(f.dataType)}" for f in dtype.fields) + ">"
    if isinstance(dtype, ArrayType):
        return f"array<{ddl_type(dtype.elementType)}>"
    if isinstance(dtype, MapType):
        return f"map<{ddl_type(dtype.keyType)}, {ddl_type(dtype.valueType)}>"
    return dtype.simpleString()


class Row(tuple):
    """A result row: a tuple with named fields (``row.word``, ``row["word"]``, ``asDict()``)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Row:  # noqa: PYI034 (PySpark's signature)
        if kwargs:
            row = tuple.__new__(cls, list(kwargs.values()))
            row.__fields__ = list(kwargs)
            return row
        row = tuple.__new__(cls, args)
        row.__fields__ = None
        return row

    @classmethod
    def _of(cls, fields: list[str], values: Any) -> Row:
        """A Row of ``values`` named ``fields``, which may repeat a name (both sides' ``k`` of a join)."""
        row = tuple.__new__(cls, values)
        row.__fields__ = list(fields)
        return row

    def __call__(self, *values: Any) -> Row:
        """``Row("name", "age")("Alice", 11)``: a Row of these field names (PySpark's row class)."""
        if len(values) > len(self):
            raise ValueError(f"Can not create Row with fields {self}, expected {len(self)} values but got "
                             f"{len(values)}")
        return Row._of(list(self), values)

    def asDict(self, recursive: bool = False) -> dict:
        """The fields as a dict; ``recursive``: Rows inside (also in lists and dicts' values) as dicts too."""
        if not recursive:
            return dict(zip(self.__fields__ or [], self))

        def plain(value: Any) -> Any:
            if isinstance(value, Row):
                return value.asDict(True)
            if isinstance(value, list):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value
        return {name: plain(value) for name, value in zip(self.__fields__ or [], self)}

    def __contains__(self, item: Any) -> bool:
        """``"name" in row``: a field of that name, as PySpark's Row (a Row of values alone: that value)."""
        return item in self.__fields__ if self.__fields__ is not None else tuple.__contains__(self, item)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            return tuple.__getitem__(self, self.__fields__.index(item))
        return tuple.__getitem__(self, item)

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        try:
            return self[self.__fields__.index(item)]
        except (ValueError, AttributeError, TypeError):
            raise AttributeError(item) from None

    def __repr__(self) -> str:
        if self.__fields__:
            return "Row(" + ", ".join(f"{k}={v!r}" for k, v in zip(self.__fields__, self)) + ")"
        return "<Row(" + ", ".join(repr(v) for v in self) + ")>"
