"""Green sockets and trampoline: one greenthread waiting on a socket blocks no other."""

import socket

import pytest

from nova_sim import green
from nova_sim.green import io as gio


def test_echo_server_and_clients_interleave():
    server = gio.listen(("127.0.0.1", 0))
    port = server.getsockname()[1]
    events = []

    def handle(conn):
        with conn:
            f = conn.makefile("rwb")
            for line in f:
                conn.sendall(b"echo " + line)
            f.close()

    def serve():
        while True:
            conn, _ = server.accept()
            green.spawn_n(handle, conn)

    green.spawn_n(serve)

    def client(name):
        sock = gio.connect(("127.0.0.1", port))
        sock.sendall(name.encode() + b"\n")
        events.append(sock.recv(100))
        sock.close()

    ticker_runs = []

    def ticker():
        for _ in range(3):
            ticker_runs.append(1)
            green.sleep(0)

    clients = [green.spawn(client, n) for n in ("a", "b")]
    green.spawn(ticker).wait()
    for c in clients:
        c.wait()
    server.close()
    assert sorted(events) == [b"echo a\n", b"echo b\n"]
    assert len(ticker_runs) == 3


def test_recv_timeout_raises_socket_timeout():
    a, b = socket.socketpair()
    ga = gio.GreenSocket(sock=a)
    ga.settimeout(0.01)
    with pytest.raises(socket.timeout):
        ga.recv(10)
    ga.close()
    b.close()


def test_trampoline_under_virtual_clock_is_a_clear_error():
    a, b = socket.socketpair()
    try:
        with green.virtual_time():
            with pytest.raises(RuntimeError, match="virtual clock"):
                green.trampoline(a.fileno(), read=True)
    finally:
        a.close()
        b.close()


def test_close_wakes_waiter_with_ioclosed():
    a, b = socket.socketpair()
    ga = gio.GreenSocket(sock=a)
    errors = []

    def reader():
        try:
            ga.recv(10)
        except gio.IOClosed as exc:
            errors.append(exc)

    gt = green.spawn(reader)
    green.sleep(0)
    ga.close()
    gt.wait()
    b.close()
    assert errors


def test_call_threadsafe_wakes_sleeping_hub():
    import threading

    hub = green.get_hub()
    done = green.Event()
    thread = threading.Thread(target=hub.call_threadsafe, args=(done.send, "from thread"))
    thread.start()
    assert done.wait(timeout=10) == "from thread"
    thread.join()


def test_signal_handler_wakes_hub_with_no_timer_due():
    """A signal arriving while the hub waits with nothing scheduled is handled at once:
    the handler hands its work to the hub through call_threadsafe and the self-pipe."""
    import os
    import signal
    import threading

    hub = green.get_hub()
    received = green.Event()

    def handler(signum, frame):
        hub.call_threadsafe(received.send, signum)

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGUSR1))
        sender.start()
        assert hub.pending_timers == 0
        assert received.wait() == signal.SIGUSR1
        sender.join()
    finally:
        signal.signal(signal.SIGUSR1, previous)
