"""``pyspark.errors``' exception classes, raised with Spark's error class in the message."""

from __future__ import annotations


class PySparkException(Exception):
    def __init__(self, message: str | None = None, errorClass: str | None = None, **kwargs):
        self._message = message or ""
        self._error_class = errorClass
        super().__init__(f"[{errorClass}] {message}" if errorClass else message)

    def getCondition(self) -> str | None:
        return self._error_class

    getErrorClass = getCondition

    def getMessage(self) -> str:
        return str(self)


class AnalysisException(PySparkException):
    """What Spark's analyzer refuses (an unknown column, an output mode a query cannot have...)."""


class StreamingQueryException(PySparkException):
    """The exception that stopped a streaming query."""


class IllegalArgumentException(PySparkException):
    pass


class PySparkValueError(PySparkException, ValueError):
    pass


class PySparkTypeError(PySparkException, TypeError):
    pass


class PySparkNotImplementedError(PySparkException, NotImplementedError):
    pass


def not_supported(method: str, why: str = "") -> PySparkNotImplementedError:
    """What stream_nb does not do yet, naming the method."""
    return PySparkNotImplementedError(f"{method} is not supported by stream_nb.pyspark yet{why}",
                                      "NOT_IMPLEMENTED")
