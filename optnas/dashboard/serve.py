"""Serve a Dash app: bind where asked (127.0.0.1 by default), say so clearly when that is wider.

Example:
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

from .._validate import is_integer
from ..errors import UsageError


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_port(port: Any) -> int:
    if not (is_integer(port) and 1 <= port <= 65535):
        raise UsageError(f"--port {port!r} is invalid: it must be an integer in 1..65535")
    return int(port)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or one clear UsageError (unknown host, port in use, no permission)."""
    check_port(port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host!r} is invalid: {exc.strerror}") from None
    family = infos[0][0]
    try:
        return socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def warn_if_exposed(host: str) -> None:
    if not is_loopback(host):
        print(
            f"optnas dashboard: warning: --host {host} serves the dashboard beyond this machine; anyone who can "
            "reach it reads your studies (nothing authenticates them). Use --host 127.0.0.1 to keep it local.",
            file=sys.stderr,
        )


def serve(wsgi_app: Any, sock: socket.socket) -> None:
    """Serve ``wsgi_app`` on ``sock`` (threaded) until interrupted."""
    import logging

    from werkzeug.serving import make_server

    # one log line per request (every refresh tick) drowns the terminal; errors still show
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    host, port = sock.getsockname()[:2]
    server = make_server(host, port, wsgi_app, threaded=True, fd=sock.fileno())
    try:
        server.serve_forever()
    finally:
        server.server_close()
