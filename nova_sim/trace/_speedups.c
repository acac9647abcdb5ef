/* nova_sim.trace._speedups: the tracer's hot path in C.
 *
 * What runs for every span, written out in C: making a span's row (ids, parent,
 * service, greenthread, start), entering and leaving it (the current-span context
 * variable) and ending it (the completed row appended to the span log). Everything
 * else, and every rare path (naming a new greenthread, following a new hub, a span
 * without a parent, flushing, recording an error), calls back into tracer.py.
 *
 * tracer.py holds the reference implementation, in Python, of the same two base
 * classes (_PySpanBase, _PyTracerBase), used when this module is not built or
 * NOVA_SIM_PURE_PYTHON=1 is set; the two must record the same spans (the seeded boot's
 * exports are compared byte for byte by tests/trace/test_speedups.py). Keep them
 * side by side: a change to one is a change to both.
 *
 * The Python classes Span and Tracer subclass SpanBase and TracerBase. The fields the
 * hot path reads are C members, set from Python as ordinary attributes (tracer._hub,
 * tracer._log...), so neither side looks anything up by name on the common path.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* Set once by setup(): what tracer.py owns. */
static PyObject *span_var;      /* ContextVar: the current span */
static PyObject *service_var;   /* ContextVar: nova_sim.trace.current_service */
static PyObject *getcurrent;    /* greenlet.getcurrent */
static PyObject *get_hub;       /* nova_sim.green.get_hub */
static PyTypeObject *span_class; /* tracer.Span, a subclass of SpanBase */
static PyObject *span_tag;      /* store.SPAN, a row's first item */

static PyObject *str_hub, *str_gt, *str_attach, *str_name, *str_start_span,
    *str_check_flush, *str_set_error, *str_request_id, *str_internal,
    *str_new_trace_id;

/* A row's items (store.SPAN_ROW after the tag; tracer.py's _TRACE...). */
enum { R_TAG, R_TRACE, R_ID, R_PARENT, R_NAME, R_KIND, R_SERVICE, R_HOST, R_THREAD,
       R_START, R_SEQ, R_REQUEST, R_GLOBAL_REQUEST, R_ATTRIBUTES, ROW_SIZE };

/* -- SpanBase --------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *tracer;
    PyObject *row;
    PyObject *error;
    PyObject *events;
    PyObject *token;  /* _token: set on entering */
} SpanBase;

static PyTypeObject SpanBaseType;
static PyTypeObject TracerBaseType;

static int
span_init(SpanBase *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"tracer", "row", NULL};
    PyObject *tracer, *row;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!:Span", names, &tracer,
                                     &PyTuple_Type, &row))
        return -1;
    Py_INCREF(tracer);
    Py_XSETREF(self->tracer, tracer);
    Py_INCREF(row);
    Py_XSETREF(self->row, row);
    Py_INCREF(Py_None);
    Py_XSETREF(self->error, Py_None);
    Py_INCREF(Py_None);
    Py_XSETREF(self->events, Py_None);
    return 0;
}

static int
span_traverse(SpanBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->tracer);
    Py_VISIT(self->row);
    Py_VISIT(self->error);
    Py_VISIT(self->events);
    Py_VISIT(self->token);
    return 0;
}

static int
span_clear(SpanBase *self)
{
    Py_CLEAR(self->tracer);
    Py_CLEAR(self->row);
    Py_CLEAR(self->error);
    Py_CLEAR(self->events);
    Py_CLEAR(self->token);
    return 0;
}

static void
span_dealloc(SpanBase *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    span_clear(self);
    type->tp_free((PyObject *)self);  /* a subclass's dealloc drops its type */
}

/* A new span of tracer.Span for ``row`` (steals the reference to ``row``). */
static PyObject *
new_span(PyObject *tracer, PyObject *row)
{
    SpanBase *span;
    if (row == NULL)
        return NULL;
    span = (SpanBase *)span_class->tp_alloc(span_class, 0);
    if (span == NULL) {
        Py_DECREF(row);
        return NULL;
    }
    Py_INCREF(tracer);
    span->tracer = tracer;
    span->row = row;
    Py_INCREF(Py_None);
    span->error = Py_None;
    Py_INCREF(Py_None);
    span->events = Py_None;
    return (PyObject *)span;
}

/* setup() was called (else: an error). */
static int
ready(void)
{
    if (span_class == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.setup() was not called");
        return 0;
    }
    return 1;
}

static PyObject *
span_enter(SpanBase *self, PyObject *unused)
{
    PyObject *token;
    if (!ready())
        return NULL;
    token = PyContextVar_Set(span_var, (PyObject *)self);
    if (token == NULL)
        return NULL;
    Py_XSETREF(self->token, token);
    Py_INCREF(self);
    return (PyObject *)self;
}

/* Undo __enter__ (the previous span is current again); a span left in another context
 * than it was entered in leaves the context variable alone. */
static int
span_reset(SpanBase *self)
{
    if (!ready())
        return -1;
    if (self->token == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_token");
        return -1;
    }
    if (PyContextVar_Reset(span_var, self->token) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            return -1;
        PyErr_Clear();
    }
    return 0;
}

static PyObject *
span_restore(SpanBase *self, PyObject *unused)
{
    if (span_reset(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int tracer_finish_at(PyObject *tracer, SpanBase *span, PyObject *end);

static PyObject *
span_exit(SpanBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *result;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "__exit__ takes 3 arguments");
        return NULL;
    }
    if (args[0] != Py_None) {  /* record the error (rare: tracer.py says how) */
        result = PyObject_CallMethodOneArg((PyObject *)self, str_set_error, args[1]);
        if (result == NULL)
            return NULL;
        Py_DECREF(result);
    }
    if (span_reset(self) < 0)
        return NULL;
    if (self->tracer != NULL && PyObject_TypeCheck(self->tracer, &TracerBaseType)) {
        if (tracer_finish_at(self->tracer, self, NULL) < 0)
            return NULL;
    }
    else {
        result = PyObject_CallMethod(self->tracer, "finish", "O", (PyObject *)self);
        if (result == NULL)
            return NULL;
        Py_DECREF(result);
    }
    Py_RETURN_FALSE;
}

static PyMethodDef span_methods[] = {
    {"__enter__", (PyCFunction)span_enter, METH_NOARGS,
     "Make this the current span; returns it."},
    {"__exit__", (PyCFunction)(void (*)(void))span_exit, METH_FASTCALL,
     "End the span (an escaping exception is its error, and propagates)."},
    {"_restore", (PyCFunction)span_restore, METH_NOARGS,
     "Undo __enter__ (the previous span is current again)."},
    {NULL}
};

static PyMemberDef span_members[] = {
    {"tracer", T_OBJECT_EX, offsetof(SpanBase, tracer), 0, NULL},
    {"row", T_OBJECT_EX, offsetof(SpanBase, row), 0, NULL},
    {"error", T_OBJECT, offsetof(SpanBase, error), 0, NULL},
    {"events", T_OBJECT, offsetof(SpanBase, events), 0, NULL},
    {"_token", T_OBJECT_EX, offsetof(SpanBase, token), 0, NULL},
    {NULL}
};

static PyTypeObject SpanBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nova_sim.trace._speedups.SpanBase",
    .tp_doc = "A span's fields and its context-manager protocol (see tracer.Span).",
    .tp_basicsize = sizeof(SpanBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)span_init,
    .tp_dealloc = (destructor)span_dealloc,
    .tp_traverse = (traverseproc)span_traverse,
    .tp_clear = (inquiry)span_clear,
    .tp_methods = span_methods,
    .tp_members = span_members,
};

/* -- TracerBase ------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *hub;           /* _hub: the hub whose clock spans are on */
    PyObject *clock_ns;      /* _clock_ns(): that hub's clock, in ns */
    PyObject *offset_ns;     /* _offset_ns: clock to epoch */
    PyObject *names;         /* _names: greenthread names (dict) */
    PyObject *log;           /* _log: the span log's unwritten rows (list) */
    PyObject *next_span_id;  /* _next_span_id() */
    PyObject *next_order;    /* _next_order() */
    PyObject *service;       /* service: the process's own */
    PyObject *host;          /* host */
    Py_ssize_t check_at;     /* _check_at: the log length at which to look at flushing */
} TracerBase;

static int
tracer_traverse(TracerBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->hub);
    Py_VISIT(self->clock_ns);
    Py_VISIT(self->offset_ns);
    Py_VISIT(self->names);
    Py_VISIT(self->log);
    Py_VISIT(self->next_span_id);
    Py_VISIT(self->next_order);
    Py_VISIT(self->service);
    Py_VISIT(self->host);
    return 0;
}

static int
tracer_clear(TracerBase *self)
{
    Py_CLEAR(self->hub);
    Py_CLEAR(self->clock_ns);
    Py_CLEAR(self->offset_ns);
    Py_CLEAR(self->names);
    Py_CLEAR(self->log);
    Py_CLEAR(self->next_span_id);
    Py_CLEAR(self->next_order);
    Py_CLEAR(self->service);
    Py_CLEAR(self->host);
    return 0;
}

static void
tracer_dealloc(TracerBase *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    tracer_clear(self);
    type->tp_free((PyObject *)self);  /* a subclass's dealloc drops its type */
}

static int
missing(PyObject *field, const char *name)
{
    if (field == NULL) {
        PyErr_Format(PyExc_AttributeError, "the tracer has no %s", name);
        return 1;
    }
    return 0;
}

/* Now on the followed hub's clock, in ns since the epoch (new reference). */
static PyObject *
tracer_now(TracerBase *self)
{
    PyObject *clock, *now;
    if (missing(self->clock_ns, "_clock_ns") || missing(self->offset_ns, "_offset_ns"))
        return NULL;
    clock = PyObject_CallNoArgs(self->clock_ns);
    if (clock == NULL)
        return NULL;
    now = PyNumber_Add(self->offset_ns, clock);
    Py_DECREF(clock);
    return now;
}

/* The running greenlet's name (new reference); follows its hub if it is a new one. */
static PyObject *
tracer_thread(TracerBase *self)
{
    PyObject *g, *hub, *gt = NULL, *name, *result;
    g = PyObject_CallNoArgs(getcurrent);
    if (g == NULL)
        return NULL;
    hub = PyObject_GetAttr(g, str_hub);  /* a runner greenlet: hub and gt slots */
    if (hub != NULL) {
        gt = PyObject_GetAttr(g, str_gt);
        if (gt == NULL)
            Py_CLEAR(hub);
    }
    if (hub == NULL) {  /* the main greenlet, the hub's, one of the caller's own */
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            goto error;
        PyErr_Clear();
        hub = PyObject_CallNoArgs(get_hub);
        if (hub == NULL)
            goto error;
        Py_INCREF(Py_None);
        gt = Py_None;
    }
    if (hub != self->hub) {
        result = PyObject_CallMethodOneArg((PyObject *)self, str_attach, hub);
        if (result == NULL)
            goto error;
        Py_DECREF(result);
    }
    Py_CLEAR(hub);
    if (missing(self->names, "_names"))
        goto error;
    name = PyDict_GetItemWithError(self->names, gt == Py_None ? g : gt);
    if (name != NULL) {
        Py_INCREF(name);
    }
    else if (!PyErr_Occurred()) {
        name = PyObject_CallMethodObjArgs((PyObject *)self, str_name, g, gt, NULL);
    }
    Py_DECREF(g);
    Py_DECREF(gt);
    return name;
error:
    Py_DECREF(g);
    Py_XDECREF(hub);
    Py_XDECREF(gt);
    return NULL;
}

/* A started span's row from its links (steals nothing; new reference). */
static PyObject *
make_row(TracerBase *self, PyObject *name, PyObject *attributes, PyObject *kind,
         PyObject *trace_id, PyObject *parent_id, PyObject *service, PyObject *host,
         PyObject *request_id, PyObject *global_request_id)
{
    PyObject *row, *thread, *span_id, *start, *order;
    thread = tracer_thread(self);
    if (thread == NULL)
        return NULL;
    if (missing(self->next_span_id, "_next_span_id")
        || missing(self->next_order, "_next_order")) {
        Py_DECREF(thread);
        return NULL;
    }
    span_id = PyObject_CallNoArgs(self->next_span_id);
    start = span_id ? tracer_now(self) : NULL;
    order = start ? PyObject_CallNoArgs(self->next_order) : NULL;
    if (order == NULL || (row = PyTuple_New(ROW_SIZE)) == NULL) {
        Py_DECREF(thread);
        Py_XDECREF(span_id);
        Py_XDECREF(start);
        Py_XDECREF(order);
        return NULL;
    }
#define SET(index, value) do { Py_INCREF(value); PyTuple_SET_ITEM(row, index, value); } while (0)
    SET(R_TAG, span_tag);
    SET(R_TRACE, trace_id);
    PyTuple_SET_ITEM(row, R_ID, span_id);
    SET(R_PARENT, parent_id);
    SET(R_NAME, name);
    SET(R_KIND, kind);
    SET(R_SERVICE, service);
    SET(R_HOST, host);
    PyTuple_SET_ITEM(row, R_THREAD, thread);
    PyTuple_SET_ITEM(row, R_START, start);
    PyTuple_SET_ITEM(row, R_SEQ, order);
    SET(R_REQUEST, request_id);
    SET(R_GLOBAL_REQUEST, global_request_id);
    SET(R_ATTRIBUTES, attributes);
#undef SET
    return row;
}

/* The current span's row (borrowed), or NULL with no error when there is none; *span
 * gets the span (new reference, None when there is none). */
static PyObject *
current_row(PyObject **span)
{
    if (PyContextVar_Get(span_var, Py_None, span) < 0)
        return NULL;
    if (*span != Py_None && PyObject_TypeCheck(*span, &SpanBaseType)) {
        PyObject *row = ((SpanBase *)*span)->row;
        if (row != NULL && PyTuple_Check(row) && PyTuple_GET_SIZE(row) >= ROW_SIZE)
            return row;
    }
    return NULL;
}

static PyObject *
tracer_span(TracerBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *name, *attributes, *parent, *row;
    int given;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "span() takes name and attributes");
        return NULL;
    }
    if (!ready())
        return NULL;
    name = args[0];
    attributes = args[1];
    row = current_row(&parent);
    if (row == NULL) {
        if (PyErr_Occurred())
            return NULL;
        goto general;
    }
    given = PyDict_Check(attributes) ? PyDict_Contains(attributes, str_request_id) : 1;
    if (given < 0) {
        Py_DECREF(parent);
        return NULL;
    }
    if (given)
        goto general;
    /* a child in its parent's trace, service and request */
    row = make_row(self, name, attributes, str_internal, PyTuple_GET_ITEM(row, R_TRACE),
                   PyTuple_GET_ITEM(row, R_ID), PyTuple_GET_ITEM(row, R_SERVICE),
                   PyTuple_GET_ITEM(row, R_HOST), PyTuple_GET_ITEM(row, R_REQUEST),
                   PyTuple_GET_ITEM(row, R_GLOBAL_REQUEST));
    Py_DECREF(parent);
    return new_span((PyObject *)self, row);
general:  /* tracer.py's start_span makes the choices */
    Py_DECREF(parent);
    return PyObject_CallMethodObjArgs((PyObject *)self, str_start_span, name, attributes,
                                      NULL);
}

static PyObject *
tracer_rpc_span(TracerBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *name, *attributes, *kind, *parent, *trace_id, *parent_id, *request_id,
        *global_request_id, *scope, *row, *parent_row, *service, *host;
    PyObject *owned_trace = NULL, *owned_scope = NULL, *result;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "rpc_span() takes 9 arguments");
        return NULL;
    }
    if (!ready())
        return NULL;
    name = args[0];
    attributes = args[1];
    kind = args[2];
    parent = args[3];
    trace_id = args[4];
    parent_id = args[5];
    request_id = args[6];
    global_request_id = args[7];
    scope = args[8];
    if (parent != Py_None) {
        if (!PyObject_TypeCheck(parent, &SpanBaseType)
            || (parent_row = ((SpanBase *)parent)->row) == NULL
            || !PyTuple_Check(parent_row) || PyTuple_GET_SIZE(parent_row) < ROW_SIZE) {
            PyErr_SetString(PyExc_TypeError, "rpc_span(): parent is not a span");
            return NULL;
        }
        trace_id = PyTuple_GET_ITEM(parent_row, R_TRACE);
        parent_id = PyTuple_GET_ITEM(parent_row, R_ID);
        if (request_id == Py_None) {
            request_id = PyTuple_GET_ITEM(parent_row, R_REQUEST);
            int given = PyObject_IsTrue(global_request_id);  /* or the parent's */
            if (given < 0)
                return NULL;
            if (!given)
                global_request_id = PyTuple_GET_ITEM(parent_row, R_GLOBAL_REQUEST);
        }
        if (scope == Py_None) {
            service = PyTuple_GET_ITEM(parent_row, R_SERVICE);
            host = PyTuple_GET_ITEM(parent_row, R_HOST);
            goto scoped;
        }
    }
    else if (trace_id == Py_None) {
        trace_id = owned_trace = PyObject_CallMethodNoArgs((PyObject *)self,
                                                           str_new_trace_id);
        if (trace_id == NULL)
            return NULL;
    }
    if (scope == Py_None) {
        if (PyContextVar_Get(service_var, Py_None, &owned_scope) < 0)
            goto error;
        scope = owned_scope;
        int set = PyObject_IsTrue(scope);
        if (set < 0)
            goto error;
        if (!set) {
            if (missing(self->service, "service") || missing(self->host, "host"))
                goto error;
            service = self->service;
            host = self->host;
            goto scoped;
        }
    }
    if (!PyTuple_Check(scope) || PyTuple_GET_SIZE(scope) != 2) {
        PyErr_SetString(PyExc_TypeError, "a span's scope is a (service, host) tuple");
        goto error;
    }
    service = PyTuple_GET_ITEM(scope, 0);
    host = PyTuple_GET_ITEM(scope, 1);
scoped:
    row = make_row(self, name, attributes, kind, trace_id, parent_id, service, host,
                   request_id, global_request_id);
    result = new_span((PyObject *)self, row);
    Py_XDECREF(owned_trace);
    Py_XDECREF(owned_scope);
    return result;
error:
    Py_XDECREF(owned_trace);
    Py_XDECREF(owned_scope);
    return NULL;
}

/* End ``span`` at ``end`` (NULL or None: now): its completed row goes into the log. */
static int
tracer_finish_at(PyObject *tracer, SpanBase *span, PyObject *end)
{
    TracerBase *self = (TracerBase *)tracer;
    PyObject *row = span->row, *done, *order, *result;
    Py_ssize_t size, i;
    if (row == NULL || !PyTuple_Check(row)) {
        PyErr_SetString(PyExc_TypeError, "finish(): the span has no row");
        return -1;
    }
    if (missing(self->log, "_log") || missing(self->next_order, "_next_order"))
        return -1;
    if (end == NULL || end == Py_None) {
        end = tracer_now(self);
        if (end == NULL)
            return -1;
    }
    else {
        Py_INCREF(end);
    }
    order = PyObject_CallNoArgs(self->next_order);
    size = PyTuple_GET_SIZE(row);
    if (order == NULL || (done = PyTuple_New(size + 4)) == NULL) {
        Py_DECREF(end);
        Py_XDECREF(order);
        return -1;
    }
    for (i = 0; i < size; i++) {
        PyObject *item = PyTuple_GET_ITEM(row, i);
        Py_INCREF(item);
        PyTuple_SET_ITEM(done, i, item);
    }
    PyTuple_SET_ITEM(done, size, end);
    PyTuple_SET_ITEM(done, size + 1, order);
    Py_INCREF(span->error ? span->error : Py_None);
    PyTuple_SET_ITEM(done, size + 2, span->error ? span->error : Py_None);
    Py_INCREF(span->events ? span->events : Py_None);
    PyTuple_SET_ITEM(done, size + 3, span->events ? span->events : Py_None);
    if (PyList_Append(self->log, done) < 0) {
        Py_DECREF(done);
        return -1;
    }
    Py_DECREF(done);
    if (PyList_GET_SIZE(self->log) >= self->check_at) {
        result = PyObject_CallMethodNoArgs(tracer, str_check_flush);
        if (result == NULL)
            return -1;
        Py_DECREF(result);
    }
    return 0;
}

static PyObject *
tracer_finish(TracerBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "finish() takes a span and an optional end");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], &SpanBaseType)) {
        PyErr_SetString(PyExc_TypeError, "finish(): not a span");
        return NULL;
    }
    if (tracer_finish_at((PyObject *)self, (SpanBase *)args[0],
                         nargs == 2 ? args[1] : NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef tracer_methods[] = {
    {"span", (PyCFunction)(void (*)(void))tracer_span, METH_FASTCALL,
     "span(name, attributes): a started span, made current by ``with``."},
    {"rpc_span", (PyCFunction)(void (*)(void))tracer_rpc_span, METH_FASTCALL,
     "rpc_span(name, attributes, kind, parent, trace_id, parent_id, request_id, "
     "global_request_id, scope): a started span for the RPC instrument."},
    {"finish", (PyCFunction)(void (*)(void))tracer_finish, METH_FASTCALL,
     "finish(span, end=None): end the span (now, or at ``end``)."},
    {NULL}
};

static PyMemberDef tracer_members[] = {
    {"_hub", T_OBJECT_EX, offsetof(TracerBase, hub), 0, NULL},
    {"_clock_ns", T_OBJECT_EX, offsetof(TracerBase, clock_ns), 0, NULL},
    {"_offset_ns", T_OBJECT_EX, offsetof(TracerBase, offset_ns), 0, NULL},
    {"_names", T_OBJECT_EX, offsetof(TracerBase, names), 0, NULL},
    {"_log", T_OBJECT_EX, offsetof(TracerBase, log), 0, NULL},
    {"_next_span_id", T_OBJECT_EX, offsetof(TracerBase, next_span_id), 0, NULL},
    {"_next_order", T_OBJECT_EX, offsetof(TracerBase, next_order), 0, NULL},
    {"service", T_OBJECT_EX, offsetof(TracerBase, service), 0, NULL},
    {"host", T_OBJECT_EX, offsetof(TracerBase, host), 0, NULL},
    {"_check_at", T_PYSSIZET, offsetof(TracerBase, check_at), 0, NULL},
    {NULL}
};

static PyTypeObject TracerBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nova_sim.trace._speedups.TracerBase",
    .tp_doc = "The tracer's hot path (see tracer.Tracer).",
    .tp_basicsize = sizeof(TracerBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)tracer_dealloc,
    .tp_traverse = (traverseproc)tracer_traverse,
    .tp_clear = (inquiry)tracer_clear,
    .tp_methods = tracer_methods,
    .tp_members = tracer_members,
};

/* -- the module ------------------------------------------------------------------- */

static PyObject *
setup(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"span_var", "service_var", "getcurrent", "get_hub",
                            "span_class", "span_tag", NULL};
    PyObject *new_span_var, *new_service_var, *new_getcurrent, *new_get_hub, *new_tag;
    PyTypeObject *new_class;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!OOO!O:setup", names,
                                     &PyContextVar_Type, &new_span_var,
                                     &PyContextVar_Type, &new_service_var,
                                     &new_getcurrent, &new_get_hub,
                                     &PyType_Type, &new_class, &new_tag))
        return NULL;
    if (!PyType_IsSubtype(new_class, &SpanBaseType)) {
        PyErr_SetString(PyExc_TypeError, "span_class must subclass SpanBase");
        return NULL;
    }
    Py_INCREF(new_span_var);
    Py_XSETREF(span_var, new_span_var);
    Py_INCREF(new_service_var);
    Py_XSETREF(service_var, new_service_var);
    Py_INCREF(new_getcurrent);
    Py_XSETREF(getcurrent, new_getcurrent);
    Py_INCREF(new_get_hub);
    Py_XSETREF(get_hub, new_get_hub);
    Py_INCREF(new_class);
    Py_XSETREF(span_class, new_class);
    Py_INCREF(new_tag);
    Py_XSETREF(span_tag, new_tag);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"setup", (PyCFunction)(void (*)(void))setup, METH_VARARGS | METH_KEYWORDS,
     "setup(span_var, service_var, getcurrent, get_hub, span_class, span_tag): what "
     "tracer.py owns, given once before any span is made."},
    {NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "nova_sim.trace._speedups",
    .m_doc = "The tracer's hot path in C (the reference is tracer.py's Python).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *module;
    if (PyType_Ready(&SpanBaseType) < 0 || PyType_Ready(&TracerBaseType) < 0)
        return NULL;
#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL
    INTERN(str_hub, "hub");
    INTERN(str_gt, "gt");
    INTERN(str_attach, "_attach");
    INTERN(str_name, "_name");
    INTERN(str_start_span, "start_span");
    INTERN(str_check_flush, "_check_flush");
    INTERN(str_set_error, "set_error");
    INTERN(str_request_id, "request_id");
    INTERN(str_internal, "internal");
    INTERN(str_new_trace_id, "new_trace_id");
#undef INTERN
    module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    Py_INCREF(&SpanBaseType);
    if (PyModule_AddObject(module, "SpanBase", (PyObject *)&SpanBaseType) < 0) {
        Py_DECREF(&SpanBaseType);
        Py_DECREF(module);
        return NULL;
    }
    Py_INCREF(&TracerBaseType);
    if (PyModule_AddObject(module, "TracerBase", (PyObject *)&TracerBaseType) < 0) {
        Py_DECREF(&TracerBaseType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
