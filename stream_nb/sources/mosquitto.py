"""A local MQTT broker for notebooks and tests: Debian's ``mosquitto``, started with a config of its own on
a free loopback port (never the system's service), stopped when the process exits.

It is the real broker, not a stand-in: what a query does against it, it does against any MQTT 5 broker.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
import tempfile
from pathlib import Path

from stream_nb.sources.local_server import LocalServer, free_port

MOSQUITTO = "/usr/sbin/mosquitto"
_CONFIG = """\
listener {port} 127.0.0.1
# started as root, mosquitto would turn into the user mosquitto, who cannot write this directory
user {user}
{access}
# sessions and their queued messages outlive a restart of the broker
persistence true
persistence_location {directory}/
# a query that is down for a while finds everything published meanwhile (mosquitto keeps 1000 by default)
max_queued_messages 1000000
log_dest file {directory}/mosquitto.log
"""


class MosquittoBroker(LocalServer):
    """A mosquitto process on ``127.0.0.1:port``; ``address`` is what ``sn.sources.mqtt`` takes."""

    name = "mosquitto"

    def __init__(self, port: int | None = None, directory: str | Path | None = None,
                 users: dict[str, str] | None = None):
        self.executable = shutil.which("mosquitto", path=f"/usr/sbin:/usr/local/sbin:{Path(MOSQUITTO).parent}")
        if self.executable is None:
            raise FileNotFoundError("mosquitto is not installed: on Debian or Ubuntu, apt-get install mosquitto "
                                    "(or give sn.sources.mqtt the address of a broker you run)")
        self.port = port or free_port()
        self.directory = Path(directory or tempfile.mkdtemp(prefix="mosquitto-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config = self.directory / "mosquitto.conf"
        access = "allow_anonymous true"
        if users:  # clients must log in as one of them
            passwords = self.directory / "passwords"
            for i, (name, password) in enumerate(users.items()):
                subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if i == 0 else []), str(passwords), name,
                                password], check=True, capture_output=True)
            access = f"allow_anonymous false\npassword_file {passwords}"
        self.config.write_text(_CONFIG.format(port=self.port, directory=self.directory, user=getpass.getuser(),
                                              access=access))
        super().__init__()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def launch(self) -> subprocess.Popen:
        return subprocess.Popen([self.executable, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    def exit_details(self) -> str:
        return self._process.stderr.read().decode(errors="replace").strip()

    def log_hint(self) -> str:
        return f"; see {self.directory / 'mosquitto.log'}"

    def __repr__(self) -> str:
        return f"<mosquitto at {self.address}, {'running' if self.running else 'stopped'}>"


def mqtt_broker(port: int | None = None, *, users: dict[str, str] | None = None) -> MosquittoBroker:
    """Start a local MQTT broker (Debian's mosquitto) on a free port of 127.0.0.1, for a notebook or a test;
    with ``users`` ({name: password}), only they may connect.

    ``broker.address`` goes to ``sn.sources.mqtt`` and ``sensors(...).publish``; ``broker.stop()`` ends it (so
    does the end of the process). Needs the ``mosquitto`` package (``apt-get install mosquitto``).
    """
    return MosquittoBroker(port, users=users)

