"""Green I/O: ``trampoline`` and green sockets.

Owns waiting for file descriptors through the hub. A green socket keeps its real socket
non-blocking; when an operation would block, the greenthread trampolines (waits in the
hub's selector) until the descriptor is ready, so one greenthread waiting for a socket
never blocks the others. Socket timeouts (``settimeout``) are enforced by the trampoline
and raise ``socket.timeout`` (``TimeoutError``), as blocking sockets do.

Sockets live on the real clock: under ``virtual_time()`` waiting for a descriptor raises.
"""

from __future__ import annotations

import errno
import io
import select
import socket as _socket
from typing import Any

from nova_sim.green import waiting
from nova_sim.green.hub import _CLOSED, get_hub, getcurrent

__all__ = ["trampoline", "GreenSocket", "DriverSocket", "listen", "connect", "connect_green",
           "IOClosed"]


class IOClosed(OSError):
    """The descriptor was closed while a greenthread waited on it."""

    def __init__(self, fd: int):
        super().__init__(errno.EBADF, f"file descriptor {fd} was closed while waiting")


def _expire_io(args: tuple) -> None:
    hub, fd, read, entry = args
    table = hub._readers if read else hub._writers
    if table.get(fd) is entry:
        hub.remove_listener(fd, read)
        entry[0](waiting.TIMED_OUT)


def trampoline(fd: Any, read: bool = False, write: bool = False,
               timeout: float | None = None,
               timeout_exc: type[BaseException] = _socket.timeout) -> None:
    """Block the current greenthread until ``fd`` (an int or an object with
    ``fileno()``) is readable (``read=True``) or writable (``write=True``).

    Raises ``timeout_exc`` after ``timeout`` seconds, ``IOClosed`` if the descriptor is
    closed meanwhile, and RuntimeError under the virtual clock.
    """
    if read == write:
        raise ValueError("trampoline: pass exactly one of read=True or write=True")
    fileno = fd if isinstance(fd, int) else fd.fileno()
    hub = get_hub()
    entry = [getcurrent().switch, None]
    hub.add_listener(fileno, read, entry)
    timer = None
    if timeout is not None:
        timer = hub.call_later(timeout, _expire_io, (hub, fileno, read, entry))
    try:
        result = hub.switch()
    except BaseException:
        hub.remove_listener(fileno, read)
        entry[0] = None
        raise
    finally:
        if timer is not None:
            hub.cancel_timer(timer)
    if result is waiting.TIMED_OUT:
        raise timeout_exc("timed out")
    if result is _CLOSED:
        raise IOClosed(fileno)


class GreenSocket:
    """A socket whose blocking operations block only the calling greenthread.

    Wraps a real socket (kept non-blocking). Attributes it does not define are those of
    the real socket (``getsockname``, ``setsockopt``...).
    """

    def __init__(self, family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM,
                 proto: int = 0, fileno: int | None = None, sock: _socket.socket | None = None):
        if sock is None:
            sock = _socket.socket(family, type, proto, fileno)
        sock.setblocking(False)
        self.fd = sock
        self._timeout: float | None = None
        self._io_refs = 0
        self._closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fd, name)

    def fileno(self) -> int:
        return self.fd.fileno()

    # timeouts ---------------------------------------------------------------------------
    def settimeout(self, timeout: float | None) -> None:
        """Seconds a blocking operation may wait before raising socket.timeout (None:
        forever; 0: never wait, raise BlockingIOError)."""
        self._timeout = timeout

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def _wait(self, read: bool) -> None:
        if self._timeout == 0.0:
            raise BlockingIOError(errno.EAGAIN, "operation would block")
        if read:
            trampoline(self.fd, read=True, timeout=self._timeout)
        else:
            trampoline(self.fd, write=True, timeout=self._timeout)

    # server side ------------------------------------------------------------------------
    def accept(self) -> tuple[GreenSocket, Any]:
        """Wait for and accept a connection: ``(GreenSocket, address)``."""
        while True:
            try:
                conn, address = self.fd.accept()
            except BlockingIOError:
                self._wait(True)
                continue
            return GreenSocket(sock=conn), address

    # client side ------------------------------------------------------------------------
    def connect(self, address: Any) -> None:
        """Connect, waiting in the hub until the connection is made (or fails)."""
        err = self.fd.connect_ex(address)
        if err in (0, errno.EISCONN):
            return
        if err not in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
            raise OSError(err, errno.errorcode.get(err, "connect failed"))
        self._wait(False)
        err = self.fd.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
        if err:
            raise OSError(err, errno.errorcode.get(err, "connect failed"))

    def connect_ex(self, address: Any) -> int:
        try:
            self.connect(address)
            return 0
        except OSError as exc:
            return exc.errno or errno.EIO

    # data -------------------------------------------------------------------------------
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to ``bufsize`` bytes, waiting for at least one (b"" at EOF)."""
        fd = self.fd
        while True:
            try:
                return fd.recv(bufsize, flags)
            except BlockingIOError:
                self._wait(True)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into ``buffer``, waiting for at least one byte (0 at EOF)."""
        fd = self.fd
        while True:
            try:
                return fd.recv_into(buffer, nbytes, flags)
            except BlockingIOError:
                self._wait(True)

    def send(self, data: bytes, flags: int = 0) -> int:
        """Send some of ``data``, waiting until at least one byte can go."""
        fd = self.fd
        while True:
            try:
                return fd.send(data, flags)
            except BlockingIOError:
                self._wait(False)

    def sendall(self, data: bytes, flags: int = 0) -> None:
        """Send all of ``data``, waiting in the hub whenever the socket buffer is full."""
        fd = self.fd
        view = memoryview(data)
        total = len(view)
        sent = 0
        while sent < total:
            try:
                sent += fd.send(view[sent:], flags)
            except BlockingIOError:
                self._wait(False)

    def makefile(self, mode: str = "r", buffering: int | None = None, **kwargs: Any):
        """A file object over this socket (reads and writes block only this greenthread)."""
        writing = "w" in mode
        reading = "r" in mode or not writing
        raw_mode = ("r" if reading else "") + ("w" if writing else "")
        raw = _socket.SocketIO(self, raw_mode)  # uses our recv_into / send
        self._io_refs += 1
        if buffering is None:
            buffering = -1
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        if buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if reading and writing:
            buffer: Any = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffer
        text = io.TextIOWrapper(buffer, kwargs.get("encoding"), kwargs.get("errors"),
                                kwargs.get("newline"))
        text.mode = mode
        return text

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed and self._io_refs == 0:
            self._real_close()

    def _real_close(self) -> None:
        fd = self.fd
        try:
            fileno = fd.fileno()
        except OSError:
            fileno = -1
        if fileno >= 0:
            get_hub().notify_closed(fileno)
        fd.close()

    def close(self) -> None:
        """Close the socket (once every makefile() object is closed too); greenthreads
        waiting on it raise IOClosed."""
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def detach(self) -> int:
        return self.fd.detach()

    def __enter__(self) -> GreenSocket:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<GreenSocket {self.fd!r}>"


def listen(address: tuple, backlog: int = 128, family: int = _socket.AF_INET,
           reuse_addr: bool = True) -> GreenSocket:
    """A listening green socket bound to ``address`` (port 0 picks a free port: read it
    with ``getsockname()``)."""
    sock = GreenSocket(family, _socket.SOCK_STREAM)
    if reuse_addr:
        sock.fd.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    sock.fd.bind(address)
    sock.fd.listen(backlog)
    return sock


def connect(address: tuple, family: int = _socket.AF_INET,
            timeout: float | None = None) -> GreenSocket:
    """A green socket connected to ``address`` (TCP_NODELAY set)."""
    sock = GreenSocket(family, _socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    if family in (_socket.AF_INET, _socket.AF_INET6):
        sock.fd.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    return sock


class DriverSocket(GreenSocket):
    """A green socket for a client library (a database driver) that may also be called
    under the virtual clock: there, where nothing can wait for a descriptor in the hub,
    it waits as a blocking socket does (the virtual clock does not move meanwhile)."""

    def _wait(self, read: bool) -> None:
        if not get_hub().virtual:
            super()._wait(read)
            return
        if self._timeout == 0.0:
            raise BlockingIOError(errno.EAGAIN, "operation would block")
        watched = [self.fd]
        ready = select.select(watched if read else [], [] if read else watched, [],
                              self._timeout)
        if not any(ready):
            raise _socket.timeout("timed out")


def connect_green(address: Any, family: int | None = None,
                  timeout: float | None = None) -> DriverSocket:
    """A ``DriverSocket`` connected to ``address``: a ``(host, port)`` pair (resolved,
    each address tried in turn; TCP_NODELAY set) or, with ``family=AF_UNIX``, a path.
    ``timeout`` bounds the connect; the socket returned has none."""
    if family == _socket.AF_UNIX:
        candidates = [(_socket.AF_UNIX, address)]
    else:
        host, port = address
        candidates = [(info[0], info[4]) for info in
                      _socket.getaddrinfo(host, port, family or 0, _socket.SOCK_STREAM)]
    error: OSError = OSError(f"cannot resolve {address!r}")
    for sock_family, sock_address in candidates:
        sock = DriverSocket(sock_family, _socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sock_address)
        except OSError as failed:
            sock.close()
            error = failed
            continue
        if sock_family != _socket.AF_UNIX:
            sock.fd.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        return sock
    raise error
