"""A throwaway RabbitMQ node for tests, on loopback and free ports, stopped by PID.

Needs Debian's ``rabbitmq-server`` (``scripts/servers/rabbitmq.sh install``). The node
gets its own name, data and log directories, Erlang cookie and port mapper (epmd,
run here in the foreground rather than left behind as a daemon), so it never meets the
system node or another test run. Its data survive :meth:`RabbitMQServer.restart`.

With ``tls`` the node also takes AMQPS on a port of its own, so clients can be tested
against a real TLS handshake: certificate checks, and client certificates if required.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from micro_core.testing.processes import ServerProcess, free_port, port_open
from micro_core.testing.tls import TLSFiles

if TYPE_CHECKING:
    from micro_broker_rabbitmq.broker import RabbitMQBroker

#: The ``open_broker`` fixture: connect a broker (settings as keywords), closed after the test.
OpenBroker = Callable[..., Awaitable["RabbitMQBroker"]]

log = logging.getLogger("micro.broker.rabbitmq.testing")

_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
_CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"


def _installed() -> None:
    if not (os.access(_SERVER, os.X_OK) and shutil.which("epmd")):
        raise FileNotFoundError(f"no {_SERVER} or epmd: run scripts/servers/rabbitmq.sh install")


class RabbitMQServer:
    """One RabbitMQ node whose data, logs and cookie live in ``workdir``.

    With ``tls`` (the server's certificate, issued for ``127.0.0.1``) it also listens for
    AMQPS at :attr:`tls_address`, checking client certificates against ``tls.ca`` when a
    client shows one, and refusing clients without one if ``require_client_cert``.
    """

    def __init__(
        self, workdir: Path, *, tls: TLSFiles | None = None, require_client_cert: bool = False
    ) -> None:
        _installed()
        self.workdir = workdir
        self.tls = tls
        self.require_client_cert = require_client_cert
        self.tls_port: int | None = None
        self.epmd_port = free_port()
        (workdir / "enabled_plugins").write_text("[].\n")
        cookie = workdir / ".erlang.cookie"
        cookie.write_text(uuid.uuid4().hex)
        cookie.chmod(0o400)
        no_epmd = "-start_epmd false"
        self.env = {
            "HOME": str(workdir),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(workdir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(workdir / "advanced.config"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": f"{no_epmd} -kernel inet_dist_use_interface {{127,0,0,1}}",
            "RABBITMQ_CTL_ERL_ARGS": no_epmd,
        }
        self._epmd = ServerProcess(
            ["epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"],
            port=self.epmd_port,
            env=self.env,
            name="epmd",
        )
        self._node: ServerProcess | None = None
        self._booted_once = False
        self._choose_ports()

    def _choose_ports(self) -> None:
        """Free ports for AMQP(S) and Erlang distribution; the node is named after the first."""
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"rabbit-test-{self.port}@localhost"
        self.env.update(
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
        )
        if self.tls is not None:
            self.tls_port = free_port()
            self._write_tls_config(self.tls, self.tls_port)

    def _write_tls_config(self, tls: TLSFiles, port: int) -> None:
        """``rabbitmq.conf`` (found through ``RABBITMQ_CONFIG_FILE``) with the AMQPS listener."""
        require = "true" if self.require_client_cert else "false"
        (self.workdir / "rabbitmq.conf").write_text(
            f"listeners.ssl.default = 127.0.0.1:{port}\n"
            f"ssl_options.cacertfile = {tls.ca}\n"
            f"ssl_options.certfile = {tls.cert}\n"
            f"ssl_options.keyfile = {tls.key}\n"
            "ssl_options.verify = verify_peer\n"
            f"ssl_options.fail_if_no_peer_cert = {require}\n"
        )

    @property
    def address(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def tls_address(self) -> str:
        """The AMQPS listener; RabbitMQ's ``guest`` may log in because it is on loopback."""
        if self.tls_port is None:
            raise RuntimeError("this RabbitMQ node was started without tls")
        return f"amqps://guest:guest@127.0.0.1:{self.tls_port}/"

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``rabbitmqctl -n NODE ARGS`` against this node."""
        return subprocess.run(
            [_CTL, "-n", self.node, *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _booted(self) -> bool:
        # ``await_startup`` returns at once while the node is not up, so it is polled.
        listening = port_open(self.port) and (self.tls_port is None or port_open(self.tls_port))
        return listening and self.ctl("await_startup", "--timeout", "30").returncode == 0

    def start(self, timeout: float = 120) -> RabbitMQServer:
        """Start epmd (once) and the node; returns when the node has booted.

        A first start that fails is tried once more on fresh ports: a port ``free_port``
        found free can be taken by another process before the node binds it. If the node
        still does not come up, epmd is stopped too, so nothing is left running.
        """
        if self._epmd.process is None:
            self._epmd.start()
        try:
            try:
                self._node = self._start_node(timeout)
            except RuntimeError as exc:
                if self._booted_once:
                    raise
                log.warning("RabbitMQ did not start, trying once more on other ports: %s", exc)
                self._choose_ports()
                self._node = self._start_node(timeout)
        except BaseException:
            if not self._booted_once:
                self._epmd.stop()
            raise
        self._booted_once = True
        return self

    def _start_node(self, timeout: float) -> ServerProcess:
        node = ServerProcess(
            [_SERVER], port=self.port, ready=self._booted, env=self.env, cwd=self.workdir, name=self.node
        )
        try:
            return node.start(timeout)
        except (RuntimeError, TimeoutError) as exc:
            log_file = self.workdir / "log" / f"{self.node}.log"
            tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else "(no log)"
            raise RuntimeError(f"{exc}; the end of {log_file}:\n{tail}") from exc

    def stop_node(self) -> None:
        """Stop the node (SIGTERM, as a service manager does); epmd and the data stay."""
        if self._node is not None:
            self._node.signal(signal.SIGCONT)  # a paused node would not act on SIGTERM
            self._node.stop(60)
            self._node = None

    def restart(self) -> None:
        self.stop_node()
        self.start()

    def pause(self) -> None:
        """Freeze the node (SIGSTOP): connections stay open but nothing answers."""
        assert self._node is not None
        self._node.signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._node is not None
        self._node.signal(signal.SIGCONT)

    def stop(self) -> None:
        self.stop_node()
        self._epmd.stop()
