"""nova_sim.log: Nova's line format, the context bracket, --debug and --log-file."""

from __future__ import annotations

import contextvars
import io
import logging
import re
import types

import pytest

from nova_sim import log
from nova_sim.conf import new_conf


@pytest.fixture
def logged():
    """Set up logging to a StringIO; yields (conf, setup(**kw) -> stream)."""
    conf = new_conf()
    streams = []

    def setup(**kw):
        stream = io.StringIO()
        streams.append(stream)
        log.setup(conf, "nova-sim-test", stream=stream, **kw)
        return stream

    saved = logging.getLogger().level
    yield conf, setup
    log.reset()
    logging.getLogger().setLevel(saved)


LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ (?P<level>[A-Z]+) (?P<name>\S+) "
    r"(?P<bracket>\[[^\]]*\]) (?P<message>.*)$"
)


def test_line_without_context(logged):
    conf, setup = logged
    stream = setup(get_current=lambda: None)
    logging.getLogger("nova_sim.test").info("hello %s", "world")
    match = LINE.match(stream.getvalue().rstrip("\n"))
    assert match, stream.getvalue()
    assert match["level"] == "INFO"
    assert match["name"] == "nova_sim.test"
    assert match["bracket"] == "[-]"
    assert match["message"] == "hello world"


def test_line_with_context_and_instance(logged):
    conf, setup = logged
    ctxt = types.SimpleNamespace(request_id="req-1", user_id="admin", project_id="demo")
    stream = setup(get_current=lambda: ctxt)
    logger = logging.getLogger("nova_sim.test")
    logger.info("spawned", extra={"instance": {"uuid": "abc"}})
    logger.info("again", extra={"instance_uuid": "def"})
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith(" [req-1 admin demo] [instance: abc] spawned")
    assert lines[1].endswith(" [req-1 admin demo] [instance: def] again")


def test_missing_fields_are_dashes(logged):
    conf, setup = logged
    ctxt = types.SimpleNamespace(request_id="req-2", user_id=None, project_id="")
    stream = setup(get_current=lambda: ctxt)
    logging.getLogger("x").warning("w")
    assert "WARNING x [req-2 - -] w" in stream.getvalue()


def test_debug_level_and_clock(logged):
    conf, setup = logged
    stream = setup(get_current=lambda: None)
    logging.getLogger("x").debug("hidden")
    assert stream.getvalue() == ""
    conf.set_override("debug", True)
    conf.set_override("log_date_format", "%Y-%m-%dT%H:%M:%S")
    stream = setup(get_current=lambda: None, clock=lambda: 1767225600.25)
    logging.getLogger("x").debug("shown")
    assert " DEBUG x [-] shown" in stream.getvalue()
    # The clock (e.g. the virtual clock's wall time) dates the record; in UTC here:
    # 1767225600 is 2026-01-01T00:00:00Z; the formatter prints local time, so check msecs.
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.250 ", stream.getvalue())


def test_setup_is_idempotent_and_leaves_other_handlers(logged):
    conf, setup = logged
    other = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(other)
    try:
        first = setup(get_current=lambda: None)
        second = setup(get_current=lambda: None)
        logging.getLogger("x").info("once")
        assert first.getvalue() == ""
        assert second.getvalue().count("once") == 1
        assert other in root.handlers
    finally:
        root.removeHandler(other)


def test_traceback_lines_are_prefixed(logged):
    conf, setup = logged
    ctxt = types.SimpleNamespace(request_id="req-3", user_id="u", project_id="p")
    stream = setup(get_current=lambda: ctxt)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("x").exception("failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) > 2
    assert all(" ERROR x [req-3 u p] " in line for line in lines)
    assert lines[-1].endswith("RuntimeError: boom")


def test_log_file_and_default_levels(tmp_path, logged):
    conf, setup = logged
    path = tmp_path / "logs" / "nova-sim.log"
    conf.set_override("log_file", str(path))
    conf.set_override("default_log_levels", ["kombu=WARN", "noisy.lib=ERROR"])
    log.setup(conf, "nova-sim", get_current=lambda: None)
    logging.getLogger("nova_sim.x").info("to the file")
    log.reset()
    assert "INFO nova_sim.x [-] to the file" in path.read_text()
    assert logging.getLogger("kombu").level == logging.WARNING
    assert logging.getLogger("noisy.lib").level == logging.ERROR
    conf.set_override("default_log_levels", ["nonsense"])
    with pytest.raises(ValueError):
        log.setup(conf, "nova-sim", get_current=lambda: None)


def test_a_failing_context_hook_never_breaks_logging(logged):
    conf, setup = logged

    def broken():
        raise LookupError("no")

    stream = setup(get_current=broken)
    logging.getLogger("x").info("still")
    assert "INFO x [-] still" in stream.getvalue()


def test_the_real_request_context(logged):
    from nova_sim import context

    conf, setup = logged
    stream = setup()

    def handle_request():
        context.RequestContext(user_id="alice", project_id="p1", request_id="req-real")
        logging.getLogger("x").info("with context")

    # In a copy of the context, so the current request context does not leak into
    # other tests.
    contextvars.copy_context().run(handle_request)
    logging.getLogger("x").info("after")
    assert "[req-real alice p1] with context" in stream.getvalue()
    assert "INFO x [-] after" in stream.getvalue()
