"""Messages from librdkafka as columns, without a Python object per message.

confluent-kafka's ``consume()`` makes a Message object (and bytes for its value, key and topic) per message:
~1.2 us a message, more than the files source spends on a whole row. librdkafka hands over a batch of messages
for ~0.05 us each (``rd_kafka_consume_batch_queue``), so this consumer calls librdkafka itself, through ctypes,
on the copy of the library that confluent-kafka ships (the same protocol code, settings and broker handling),
and a compiled loop (numba) copies the messages' values and keys into Arrow buffers, asks each for its
timestamp and frees it. Everything else (errors, end of partition, offsets gone) comes back as error messages
for the reader to handle as it does confluent-kafka's.

What keeps this safe (tests/sources/test_kafka_bulk.py pins each): every message handed over is destroyed once,
whatever fails while it becomes columns, and its bytes are copied first (the columns own their buffers); calls into
the client take turns (close waits for a consume on another thread; a call after close is an error); log lines are
served on the consuming thread, never on librdkafka's; a forked child's copy is an error to use and is not destroyed;
only librdkafka 2.x, whose rdkafka.h the structs here follow, is read this way.

``open_consumer`` returns None where this cannot work (no such library found, a 32-bit or big-endian machine, a
setting only confluent-kafka's Python layer knows): the reader then uses confluent-kafka's Consumer.
"""

from __future__ import annotations

import atexit
import ctypes
import glob
import logging
import os
import sys
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from stream_nb.sources.kafka_records import Chunk, binary_array

TopicPartition = tuple[str, int]
_LEVELS = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.CRITICAL, 3: logging.ERROR, 4: logging.WARNING,
           5: logging.INFO, 6: logging.INFO, 7: logging.DEBUG}  # syslog's levels, as confluent-kafka maps them
_FATAL = -150  # RD_KAFKA_RESP_ERR__FATAL
# The structs below and rd_kafka_message_t's layout (read as 9 words in ``heads``) are those of rdkafka.h in
# librdkafka 2.x (checked against 2.16): another major version may change them, so confluent-kafka reads there.
_MAJOR = 2
_P, _S = ctypes.c_void_p, ctypes.c_size_t


class _Partition(ctypes.Structure):  # rd_kafka_topic_partition_t (public, stable since librdkafka 0.9)
    _fields_ = [("topic", ctypes.c_char_p), ("partition", ctypes.c_int32), ("offset", ctypes.c_int64),
                ("metadata", _P), ("metadata_size", _S), ("opaque", _P), ("err", ctypes.c_int), ("_private", _P)]


class _PartitionList(ctypes.Structure):  # rd_kafka_topic_partition_list_t
    _fields_ = [("cnt", ctypes.c_int), ("size", ctypes.c_int), ("elems", ctypes.POINTER(_Partition))]


_LOG_CB = ctypes.CFUNCTYPE(None, _P, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p)
assert ctypes.sizeof(_Partition) == 64 or sys.maxsize <= 2**32  # (as rdkafka.h lays it out on 64 bits)
_lib = None  # (library, kernels), loaded once
_OPEN: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Consumers still open at exit are closed while Python can still take their log callbacks."""
    for consumer in list(_OPEN):
        consumer.close()


def _library_path() -> str | None:
    """The librdkafka that confluent-kafka's extension is linked with: bundled in its wheel (Linux
    ``confluent_kafka.libs``, macOS ``.dylibs``, Windows beside it)."""
    try:
        import confluent_kafka
    except ImportError:
        return None
    here = os.path.dirname(confluent_kafka.__file__)
    for pattern in ("../confluent_kafka.libs/librdkafka*.so*", ".dylibs/librdkafka*.dylib", "librdkafka*.dll"):
        found = sorted(glob.glob(os.path.join(here, pattern)))
        if found:
            return found[0]
    return None


def _load():
    global _lib
    if _lib is None:
        path = _library_path()
        if path is None or sys.maxsize <= 2**32 or sys.byteorder != "little":
            _lib = False
            return _lib
        try:
            import numba  # noqa: F401 - the compiled loops need it
        except ImportError:
            _lib = False
            return _lib
        lib = ctypes.CDLL(path, use_errno=True)
        lib.rd_kafka_version.restype, lib.rd_kafka_version.argtypes = ctypes.c_int, []
        version = lib.rd_kafka_version()
        if version >> 24 != _MAJOR:
            logging.getLogger(__name__).warning(
                "kafka source: reading through confluent-kafka (slower): its librdkafka is version %d.%d, and the "
                "compiled reader knows the message layout of version %d only", version >> 24,
                (version >> 16) & 0xFF, _MAJOR)
            _lib = False
            return _lib
        for name, result, args in [
            ("rd_kafka_conf_new", _P, []), ("rd_kafka_conf_set", ctypes.c_int, [_P, ctypes.c_char_p,
                                                                                 ctypes.c_char_p, _P, _S]),
            ("rd_kafka_conf_set_log_cb", None, [_P, _LOG_CB]), ("rd_kafka_conf_destroy", None, [_P]),
            ("rd_kafka_new", _P, [ctypes.c_int, _P, _P, _S]), ("rd_kafka_poll_set_consumer", ctypes.c_int, [_P]),
            ("rd_kafka_topic_partition_list_new", ctypes.POINTER(_PartitionList), [ctypes.c_int]),
            ("rd_kafka_topic_partition_list_add", ctypes.POINTER(_Partition), [_P, ctypes.c_char_p, ctypes.c_int32]),
            ("rd_kafka_topic_partition_list_destroy", None, [_P]), ("rd_kafka_assign", ctypes.c_int, [_P, _P]),
            ("rd_kafka_position", ctypes.c_int, [_P, _P]), ("rd_kafka_queue_get_consumer", _P, [_P]),
            ("rd_kafka_consume_batch_queue", ctypes.c_ssize_t, [_P, ctypes.c_int, _P, _S]),
            ("rd_kafka_queue_destroy", None, [_P]), ("rd_kafka_consumer_close", ctypes.c_int, [_P]),
            ("rd_kafka_destroy", None, [_P]), ("rd_kafka_topic_name", ctypes.c_char_p, [_S]),
            ("rd_kafka_message_errstr", ctypes.c_char_p, [_S]), ("rd_kafka_err2str", ctypes.c_char_p, [ctypes.c_int]),
            ("rd_kafka_fatal_error", ctypes.c_int, [_P, _P, _S]), ("rd_kafka_last_error", ctypes.c_int, []),
            ("rd_kafka_set_log_queue", ctypes.c_int, [_P, _P]),
        ]:
            function = getattr(lib, name)
            function.restype, function.argtypes = result, args
        try:
            _lib = (lib, _kernels(lib))
        except Exception:  # e.g. no writable cache for numba: confluent-kafka reads instead
            logging.getLogger(__name__).warning("kafka source: reading through confluent-kafka (slower): the "
                                                "compiled reader could not be set up", exc_info=True)
            _lib = False
    return _lib


def _kernels(lib):
    """The compiled loops, with the C functions they call passed in (so numba can cache them on disk)."""
    import numba

    def address(function) -> int:
        return ctypes.cast(function, _P).value

    memmove = ctypes.CFUNCTYPE(_S, _S, _S, _S)(address(ctypes.memmove))
    timestamp = ctypes.CFUNCTYPE(ctypes.c_int64, _S, _S)(address(lib.rd_kafka_message_timestamp))
    destroy = ctypes.CFUNCTYPE(None, _S)(address(lib.rd_kafka_message_destroy))

    @numba.njit(cache=True, nogil=True)
    def heads(memmove, timestamp, pointers, head, times, kinds):
        """Each rd_kafka_message_t (9 words: err, rkt, partition, payload, len, key, key_len, offset, _private)
        into ``head``, and its timestamp and timestamp type."""
        kind = np.zeros(1, np.int32)
        for i in range(pointers.shape[0]):
            memmove(head[i:].ctypes.data, pointers[i], 72)
            times[i] = timestamp(pointers[i], kind.ctypes.data)
            kinds[i] = kind[0]

    @numba.njit(cache=True, nogil=True)
    def gather(memmove, rows, start, size, data, offsets):
        """The bytes at ``start[rows]`` (``size`` long) one after the other into ``data``; ``offsets`` where
        each begins (and the end)."""
        at = 0
        for k in range(rows.shape[0]):
            i = rows[k]
            offsets[k] = at
            if size[i] > 0:
                memmove(data[at:].ctypes.data, start[i], size[i])
            at += size[i]
        offsets[rows.shape[0]] = at

    @numba.njit(cache=True, nogil=True)
    def free(destroy, pointers):
        for i in range(pointers.shape[0]):
            destroy(pointers[i])

    return (lambda *a: heads(memmove, timestamp, *a), lambda *a: gather(memmove, *a),
            lambda pointers: free(destroy, pointers))


@dataclass
class ErrorMessage:
    """An error librdkafka handed over in place of a message, shaped as confluent-kafka's Message for it."""

    _topic: str | None
    _partition: int
    _offset: int
    _error: object

    def topic(self):
        return self._topic

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def error(self):
        return self._error

    def value(self):
        return None


def _text(value) -> bytes:
    return (("true" if value else "false") if isinstance(value, bool) else str(value)).encode()


def open_consumer(config: dict, logger: logging.Logger, most: int):
    """A BulkConsumer with librdkafka ``config``, handing over at most ``most`` messages at a time, or None
    where it cannot run (then confluent-kafka's Consumer reads)."""
    loaded = _load()
    if not loaded or any(callable(v) or isinstance(v, dict) for v in config.values()):
        return None
    lib = loaded[0]
    conf, error = lib.rd_kafka_conf_new(), ctypes.create_string_buffer(512)
    for name, value in config.items():
        if lib.rd_kafka_conf_set(conf, name.encode(), _text(value), error, 512) != 0:
            lib.rd_kafka_conf_destroy(conf)
            return None  # a setting confluent-kafka takes itself: let it read
    # librdkafka's log lines go to the consumer's queue, so the callback runs in consume (on the reader's thread),
    # as confluent-kafka does with a logger: Python never runs on librdkafka's own threads (where a garbage
    # collection could drop a client and call rd_kafka_destroy from one of that client's threads)
    lib.rd_kafka_conf_set(conf, b"log.queue", b"true", error, 512)
    return BulkConsumer(loaded, conf, logger, most)


class BulkConsumer:
    """librdkafka's consumer (assign, batch consume, position) handing over messages as a ``Chunk``."""

    def __init__(self, loaded, conf, logger: logging.Logger, most: int):
        self._lib, (self._heads, self._gather, self._free) = loaded
        self._logger = logger

        def log(_client, level, facility, message):  # from librdkafka's threads: never printed, only logged
            logger.log(_LEVELS.get(level, logging.DEBUG), "%s: %s", facility.decode(errors="replace"),
                       message.decode(errors="replace"))

        self._log = _LOG_CB(log)  # kept alive as long as the client
        self._lib.rd_kafka_conf_set_log_cb(conf, self._log)
        error = ctypes.create_string_buffer(512)
        self._rk = self._lib.rd_kafka_new(1, conf, error, 512)  # 1: RD_KAFKA_CONSUMER; owns conf from here
        if not self._rk:
            self._lib.rd_kafka_conf_destroy(conf)
            raise ValueError(f"kafka source: {error.value.decode(errors='replace')}")
        self._pid = os.getpid()  # librdkafka's threads are not in a forked child
        self._lib.rd_kafka_set_log_queue(self._rk, None)  # (None: the main queue, forwarded to the consumer's)
        self._lib.rd_kafka_poll_set_consumer(self._rk)
        self._queue = self._lib.rd_kafka_queue_get_consumer(self._rk)
        self._pointers = (_P * most)()
        # calls into the client one at a time: close (at exit, before the queries stop) waits for a consume
        self._busy = threading.Lock()
        _OPEN.add(self)

    def _partition_list(self, offsets: dict[TopicPartition, int]):
        tps = self._lib.rd_kafka_topic_partition_list_new(max(1, len(offsets)))
        for (topic, partition), offset in offsets.items():
            self._lib.rd_kafka_topic_partition_list_add(tps, topic.encode(), partition).contents.offset = offset
        return tps

    def _open(self):
        if os.getpid() != self._pid:
            raise RuntimeError(f"kafka source: the reading client was made in process {self._pid}, before this one "
                               "was forked from it; librdkafka cannot be used across a fork: open the source in "
                               "the process that reads it")
        if not self._rk:
            raise RuntimeError("kafka source: the reading client was closed (the process is ending)")
        return self._rk

    def assign(self, starts: dict[TopicPartition, int]) -> None:
        self._open()  # (each call checks before the lock too: in a forked child a gone thread may hold it)
        tps = self._partition_list(starts)
        try:
            with self._busy:
                err = self._lib.rd_kafka_assign(self._open(), tps)
        finally:
            self._lib.rd_kafka_topic_partition_list_destroy(tps)
        if err:
            raise ValueError(f"kafka source: assign: {self._lib.rd_kafka_err2str(err).decode()}")

    def position(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """Each partition's next offset to hand over (negative: not known yet)."""
        self._open()
        tps = self._partition_list(dict.fromkeys(partitions, -1001))
        try:
            with self._busy:
                self._lib.rd_kafka_position(self._open(), tps)
            listed = tps.contents
            return {(listed.elems[k].topic.decode(), listed.elems[k].partition): listed.elems[k].offset
                    for k in range(listed.cnt)}
        finally:
            self._lib.rd_kafka_topic_partition_list_destroy(tps)

    def consume(self, most: int, timeout: float) -> tuple[Chunk, list[ErrorMessage]]:
        """Up to ``most`` messages waiting within ``timeout`` s: the good ones as columns, the errors apart."""
        self._open()
        with self._busy:
            self._open()
            n = self._lib.rd_kafka_consume_batch_queue(self._queue, int(timeout * 1000), self._pointers,
                                                       min(most, len(self._pointers)))
            if n < 0:  # (librdkafka's own error code for this thread, and errno as it documents)
                code, errno = self._lib.rd_kafka_last_error(), ctypes.get_errno()
                raise RuntimeError(f"kafka source: reading a batch of messages failed: "
                                   f"{self._lib.rd_kafka_err2str(code).decode(errors='replace')} "
                                   f"(errno {errno}: {os.strerror(errno)})")
            if n == 0:
                return Chunk.empty(), []
            # every message handed over is destroyed once, whatever fails on the way; nothing of it is read after
            # (keys and values are copied into Arrow buffers of our own, topic names and errors into Python text)
            pointers = np.frombuffer(self._pointers, np.uint64, n)
            try:
                return self._columns(pointers.copy())
            finally:
                self._free(pointers)

    def _columns(self, pointers: np.ndarray) -> tuple[Chunk, list[ErrorMessage]]:
        n = len(pointers)
        head, times, kinds = np.empty((n, 9), np.uint64), np.empty(n, np.int64), np.empty(n, np.int32)
        self._heads(pointers, head, times, kinds)
        words = head.view(np.int32)  # (n, 18): err is word 0, partition word 4
        errs, partitions, offsets = words[:, 0], words[:, 4].copy(), head[:, 7].view(np.int64)
        topics = head[:, 1]
        if topics[0] == topics[-1] and (topics == topics[0]).all():  # one topic, the common case: no sort
            rkts, codes = topics[:1], np.zeros(n, np.int32)
        else:
            rkts, codes = np.unique(topics, return_inverse=True)
        names = [self._topic(int(t)) for t in rkts]
        bad = np.flatnonzero(errs)
        errors = [self._error(int(pointers[i]), names[codes[i]], int(partitions[i]), int(offsets[i]), int(errs[i]))
                  for i in bad]
        if not len(bad):  # (no message is an error: every row, without picking them)
            return Chunk(names, codes.astype(np.int32, copy=False), partitions, offsets.copy(), times, kinds,
                         self._binary(None, head[:, 5], head[:, 6]), self._binary(None, head[:, 3], head[:, 4])), []
        rows = np.flatnonzero(errs == 0)
        return Chunk(names, codes[rows].astype(np.int32), partitions[rows], offsets[rows].copy(), times[rows],
                     kinds[rows], self._binary(rows, head[:, 5], head[:, 6]),
                     self._binary(rows, head[:, 3], head[:, 4])), errors

    def _binary(self, rows, start: np.ndarray, size: np.ndarray) -> pa.Array:
        """The bytes at ``start`` of each row (``rows``, or None: every one) as a large_binary array (null where
        ``start`` is NULL)."""
        valid = start != 0
        full = np.where(valid, size, 0).astype(np.int64)
        picked = np.arange(len(start), dtype=np.int64) if rows is None else rows.astype(np.int64)
        total = int(full.sum()) if rows is None else int(full[rows].sum())
        data, offsets = np.empty(total, np.uint8), np.empty(len(picked) + 1, np.int64)
        self._gather(picked, start, full, data, offsets)
        return binary_array(offsets, data, valid if rows is None else valid[rows])

    def _topic(self, rkt: int) -> str | None:
        name = self._lib.rd_kafka_topic_name(rkt) if rkt else None  # (asked while the messages hold the topic)
        return name.decode() if name is not None else None

    def _error(self, pointer: int, topic, partition: int, offset: int, code: int) -> ErrorMessage:
        from confluent_kafka import KafkaError

        text, fatal = (self._lib.rd_kafka_message_errstr(pointer) or b"").decode(errors="replace"), False
        if code == _FATAL:  # the underlying error, as confluent-kafka reports it
            buffer = ctypes.create_string_buffer(512)
            code, text, fatal = self._lib.rd_kafka_fatal_error(self._rk, buffer, 512) or code, \
                buffer.value.decode(errors="replace") or text, True
        return ErrorMessage(topic, partition, offset, KafkaError(code, text, fatal=fatal))

    def __del__(self):  # as confluent-kafka's Consumer: a client dropped unclosed ends its threads
        self.close()

    def close(self) -> None:
        busy = getattr(self, "_busy", None)
        if busy is None:  # (made only partly: no client)
            return
        if os.getpid() != self._pid:  # a forked child's copy: its threads are the parent's, which closes it
            self._rk = None
            return
        with busy:
            rk, self._rk = self._rk, None
            if rk:
                self._lib.rd_kafka_queue_destroy(self._queue)
                self._lib.rd_kafka_consumer_close(rk)
                self._lib.rd_kafka_destroy(rk)
