"""Sources: a stream is an unbounded table with a schema, read between two offsets.

``memory`` (rows added by hand), ``rate`` (Spark's load generator), ``sensors`` (simulated IoT readings with
disorder and late data), ``ads`` (simulated ad impressions and their clicks: two streams to join), ``files``
(new files in a directory). Each is one module filling the small ``Source`` protocol of ``_protocol.py``; every
``read`` returns exactly the source's ``schema``.
"""

from stream_nb.sources._protocol import Source
from stream_nb.sources.ads import ads
from stream_nb.sources.errors import SourceError
from stream_nb.sources.files import files
from stream_nb.sources.kafka import kafka
from stream_nb.sources.memory import memory
from stream_nb.sources.mosquitto import mqtt_broker
from stream_nb.sources.mqtt import mqtt
from stream_nb.sources.rate import rate
from stream_nb.sources.sensors import sensors
from stream_nb.sources.socket import socket
from stream_nb.sources.tansu import kafka_broker

__all__ = ["Source", "SourceError", "ads", "files", "kafka", "kafka_broker", "memory", "mqtt", "mqtt_broker",
           "rate", "sensors", "socket"]
