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

static PyObject *str_name_attr, *str_hub, *str_gt, *str_attach, *str_name, *str_start_span,
    *str_check_flush, *str_set_error, *str_request_id, *str_internal,
    *str_new_trace_id, *str_method, *str_namespace, *str_version, *str_topic,
    *str_server, *str_msg_id, *str_reply_q, *str_context_request_id,
    *str_context_global_request_id, *str_trace_key, *str_base_id, *str_parent_id,
    *str_server_side, *str_consumer, *str_failure, *str_make_shape, *str_set_failure,
    *str_global_request_id, *str_msg_id_attribute, *str_hmac_key;

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

/* Deallocate an object of one of the three base types, cleared by ``clear``. */
static void
dealloc_with(PyObject *self, inquiry clear)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    clear(self);
    type->tp_free(self);  /* a subclass's dealloc drops its type */
}

static void
span_dealloc(SpanBase *self)
{
    dealloc_with((PyObject *)self, (inquiry)span_clear);
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
    PyObject *next_thread_name; /* _next_thread_name() */
    PyObject *calls;         /* _calls: msg_id -> the call's span, until its reply */
    PyObject *dispatches;    /* _dispatches: id(message) -> the span dispatching it */
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
    Py_VISIT(self->next_thread_name);
    Py_VISIT(self->calls);
    Py_VISIT(self->dispatches);
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
    Py_CLEAR(self->next_thread_name);
    Py_CLEAR(self->calls);
    Py_CLEAR(self->dispatches);
    return 0;
}

static void
tracer_dealloc(TracerBase *self)
{
    dealloc_with((PyObject *)self, (inquiry)tracer_clear);
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

/* Name a runner greenlet not yet named (tracer.py's _name, for a greenthread): the
 * GreenThread ``gt`` it runs, or the spawn_n job it runs when ``gt`` is None. */
static PyObject *
name_runner(TracerBase *self, PyObject *g, PyObject *gt)
{
    PyObject *name, *old = NULL;
    if (missing(self->next_thread_name, "_next_thread_name"))
        return NULL;
    name = PyObject_CallNoArgs(self->next_thread_name);
    if (name == NULL)
        return NULL;
    if (gt != Py_None) {
        old = PyObject_GetAttr(gt, str_name_attr);
        if (old == NULL)
            goto error;
        if (old == Py_None && PyObject_SetAttr(gt, str_name_attr, name) < 0)
            goto error;
        Py_CLEAR(old);
    }
    if (PyDict_SetItem(self->names, gt == Py_None ? g : gt, name) < 0)
        goto error;
    return name;
error:
    Py_XDECREF(old);
    Py_DECREF(name);
    return NULL;
}

/* The running greenlet's name (new reference); follows its hub if it is a new one. */
static PyObject *
tracer_thread(TracerBase *self)
{
    PyObject *g, *hub, *gt = NULL, *name, *result;
    int runner = 1;
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
        runner = 0;
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
        name = runner ? name_runner(self, g, gt)
                      : PyObject_CallMethodObjArgs((PyObject *)self, str_name, g, gt, NULL);
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
    /* a child in its parent's trace, service and request (the parent's row is held:
     * make_row may call back into Python) */
    Py_INCREF(row);
    Py_DECREF(parent);
    parent = row;
    row = make_row(self, name, attributes, str_internal, PyTuple_GET_ITEM(parent, R_TRACE),
                   PyTuple_GET_ITEM(parent, R_ID), PyTuple_GET_ITEM(parent, R_SERVICE),
                   PyTuple_GET_ITEM(parent, R_HOST), PyTuple_GET_ITEM(parent, R_REQUEST),
                   PyTuple_GET_ITEM(parent, R_GLOBAL_REQUEST));
    Py_DECREF(parent);
    return new_span((PyObject *)self, row);
general:  /* tracer.py's start_span makes the choices */
    Py_DECREF(parent);
    return PyObject_CallMethodObjArgs((PyObject *)self, str_start_span, name, attributes,
                                      NULL);
}

static PyObject *
rpc_span(TracerBase *self, PyObject *name, PyObject *attributes, PyObject *kind,
         PyObject *parent, PyObject *trace_id, PyObject *parent_id, PyObject *request_id,
         PyObject *global_request_id, PyObject *scope)
{
    /* what the row borrows from is held (make_row may call back into Python) */
    PyObject *row, *parent_row = NULL, *service, *host;
    PyObject *owned_trace = NULL, *owned_scope = NULL, *owned_row = NULL, *result;
    if (!ready())
        return NULL;
    if (parent != Py_None) {
        if (!PyObject_TypeCheck(parent, &SpanBaseType)
            || (parent_row = ((SpanBase *)parent)->row) == NULL
            || !PyTuple_Check(parent_row) || PyTuple_GET_SIZE(parent_row) < ROW_SIZE) {
            PyErr_SetString(PyExc_TypeError, "rpc_span(): parent is not a span");
            return NULL;
        }
        owned_row = Py_NewRef(parent_row);
        trace_id = PyTuple_GET_ITEM(parent_row, R_TRACE);
        parent_id = PyTuple_GET_ITEM(parent_row, R_ID);
        if (request_id == Py_None) {
            request_id = PyTuple_GET_ITEM(parent_row, R_REQUEST);
            int given = PyObject_IsTrue(global_request_id);  /* or the parent's */
            if (given < 0)
                goto error;
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
        if (!set) {  /* the process's own service */
            if (missing(self->service, "service") || missing(self->host, "host"))
                goto error;
            Py_SETREF(owned_scope, PyTuple_Pack(2, self->service, self->host));
            if (owned_scope == NULL)
                goto error;
            scope = owned_scope;
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
    Py_XDECREF(owned_row);
    return result;
error:
    Py_XDECREF(owned_trace);
    Py_XDECREF(owned_scope);
    Py_XDECREF(owned_row);
    return NULL;
}

static PyObject *
tracer_rpc_span(TracerBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "rpc_span() takes 9 arguments");
        return NULL;
    }
    return rpc_span(self, args[0], args[1], args[2], args[3], args[4], args[5], args[6],
                    args[7], args[8]);
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
    {"_next_thread_name", T_OBJECT_EX, offsetof(TracerBase, next_thread_name), 0, NULL},
    {"_calls", T_OBJECT_EX, offsetof(TracerBase, calls), 0, NULL},
    {"_dispatches", T_OBJECT_EX, offsetof(TracerBase, dispatches), 0, NULL},
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


/* -- InstrumentBase: the RPC layer's hooks (tracer/rpc.py) ------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *tracer;  /* tracer: a TracerBase */
    PyObject *shapes;  /* _shapes: (side, topic, server, method, namespace, version) ->
                        * (name, kind, template, scope), made by _make_shape */
} InstrumentBase;

static int
instrument_traverse(InstrumentBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->tracer);
    Py_VISIT(self->shapes);
    return 0;
}

static int
instrument_clear(InstrumentBase *self)
{
    Py_CLEAR(self->tracer);
    Py_CLEAR(self->shapes);
    return 0;
}

static void
instrument_dealloc(InstrumentBase *self)
{
    dealloc_with((PyObject *)self, (inquiry)instrument_clear);
}

/* The instrument's tracer (borrowed), checked to be a TracerBase. */
static TracerBase *
instrument_tracer(InstrumentBase *self)
{
    if (self->tracer == NULL || !PyObject_TypeCheck(self->tracer, &TracerBaseType)) {
        PyErr_SetString(PyExc_TypeError, "the instrument's tracer is not a TracerBase");
        return NULL;
    }
    return (TracerBase *)self->tracer;
}

/* message[key] (borrowed), None when absent; NULL on error. */
static PyObject *
item(PyObject *message, PyObject *key)
{
    PyObject *value;
    if (!PyDict_Check(message)) {
        PyErr_SetString(PyExc_TypeError, "an RPC message is a dict");
        return NULL;
    }
    value = PyDict_GetItemWithError(message, key);
    if (value == NULL && !PyErr_Occurred())
        return Py_None;
    return value;
}

/* The shape of a message (new reference): a 4-tuple, see InstrumentBase.shapes. */
static PyObject *
shape_of(InstrumentBase *self, PyObject *side, PyObject *target, PyObject *message)
{
    PyObject *method, *namespace, *version, *topic = NULL, *server = NULL, *key = NULL,
        *shape = NULL;
    if ((method = item(message, str_method)) == NULL
        || (namespace = item(message, str_namespace)) == NULL
        || (version = item(message, str_version)) == NULL
        || (topic = PyObject_GetAttr(target, str_topic)) == NULL
        || (server = PyObject_GetAttr(target, str_server)) == NULL
        || (key = PyTuple_Pack(6, side, topic, server, method, namespace, version)) == NULL)
        goto done;
    if (self->shapes != NULL && PyDict_Check(self->shapes)) {
        shape = PyDict_GetItemWithError(self->shapes, key);
        if (shape != NULL) {
            Py_INCREF(shape);
            goto done;
        }
        if (PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError))  /* unhashable: not cached */
                goto done;
            PyErr_Clear();
            Py_SETREF(key, Py_NewRef(Py_None));
        }
    }
    shape = PyObject_CallMethodObjArgs((PyObject *)self, str_make_shape, side, target,
                                       method, namespace, version, key, NULL);
    if (shape != NULL && (!PyTuple_Check(shape) || PyTuple_GET_SIZE(shape) != 4)) {
        PyErr_SetString(PyExc_TypeError, "_make_shape() returns a 4-tuple");
        Py_CLEAR(shape);
    }
done:
    Py_XDECREF(topic);
    Py_XDECREF(server);
    Py_XDECREF(key);
    return shape;
}

/* The span's attributes: the shape's template and the message's msg_id (new ref). */
static PyObject *
attributes_of(PyObject *shape, PyObject *msg_id)
{
    PyObject *attributes = PyDict_Copy(PyTuple_GET_ITEM(shape, 2));
    if (attributes != NULL && msg_id != Py_None
        && PyDict_SetItem(attributes, str_msg_id_attribute, msg_id) < 0)
        Py_CLEAR(attributes);
    return attributes;
}

/* A hook's error: an Exception is logged by the instrument's _failed(hook, error) and
 * swallowed (tracing must never break the RPC it watches); anything else propagates. */
static PyObject *
hook_failed(InstrumentBase *self, const char *hook)
{
    PyObject *type, *value, *traceback, *result;
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return NULL;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL)
        PyException_SetTraceback(value, traceback);
    result = PyObject_CallMethod((PyObject *)self, "_failed", "sO", hook, value);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    if (result == NULL)
        return NULL;
    Py_DECREF(result);
    Py_RETURN_NONE;
}

/* dict.pop(key, None) (new reference). */
static PyObject *
pop(PyObject *dict, PyObject *key)
{
    PyObject *value = PyDict_GetItemWithError(dict, key);
    if (value == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    Py_INCREF(value);
    if (PyDict_DelItem(dict, key) < 0) {
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

static PyObject *
message_sent(InstrumentBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *kind, *target, *message, *shape = NULL, *msg_id, *attributes = NULL,
        *parent = NULL, *request_id, *global_request_id, *span = NULL, *row, *info = NULL;
    TracerBase *tracer;
    int failed = -1, call;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "message_sent() takes kind, target, message");
        return NULL;
    }
    kind = args[0];
    target = args[1];
    message = args[2];
    if ((tracer = instrument_tracer(self)) == NULL || !ready()
        || (shape = shape_of(self, kind, target, message)) == NULL
        || (msg_id = item(message, str_msg_id)) == NULL
        || (attributes = attributes_of(shape, msg_id)) == NULL
        || PyContextVar_Get(span_var, Py_None, &parent) < 0
        || (request_id = item(message, str_context_request_id)) == NULL
        || (global_request_id = item(message, str_context_global_request_id)) == NULL
        || (span = rpc_span(tracer, PyTuple_GET_ITEM(shape, 0), attributes,
                            PyTuple_GET_ITEM(shape, 1), parent, Py_None, Py_None,
                            request_id, global_request_id, Py_None)) == NULL)
        goto done;
    row = ((SpanBase *)span)->row;
    info = PyDict_New();  /* rpc.py's trace_info(): OSProfiler's keys, in its order */
    if (info == NULL
        || PyDict_SetItem(info, str_hmac_key, Py_None) < 0
        || PyDict_SetItem(info, str_base_id, PyTuple_GET_ITEM(row, R_TRACE)) < 0
        || PyDict_SetItem(info, str_parent_id, PyTuple_GET_ITEM(row, R_ID)) < 0
        || PyDict_SetItem(message, str_trace_key, info) < 0)
        goto done;
    call = PyObject_IsTrue(msg_id);
    if (call < 0)
        goto done;
    if (call && (call = PyUnicode_Check(kind)
                 && PyUnicode_CompareWithASCIIString(kind, "call") == 0)) {
        if (missing(tracer->calls, "_calls")
            || PyObject_SetItem(tracer->calls, msg_id, span) < 0)
            goto done;
    }
    else if (tracer_finish_at((PyObject *)tracer, (SpanBase *)span,
                              PyTuple_GET_ITEM(row, R_START)) < 0)
        goto done;
    failed = 0;
done:
    Py_XDECREF(shape);
    Py_XDECREF(attributes);
    Py_XDECREF(parent);
    Py_XDECREF(span);
    Py_XDECREF(info);
    if (failed)
        return hook_failed(self, "message_sent");
    Py_RETURN_NONE;
}

static PyObject *
reply_received(InstrumentBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *message, *reply, *msg_id, *span = NULL, *failure, *result;
    TracerBase *tracer;
    int failed = -1;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "reply_received() takes target, message, reply");
        return NULL;
    }
    message = args[1];
    reply = args[2];
    if ((tracer = instrument_tracer(self)) == NULL
        || (msg_id = item(message, str_msg_id)) == NULL
        || missing(tracer->calls, "_calls")
        || (span = pop(tracer->calls, msg_id)) == NULL)
        goto done;
    if (span == Py_None) {
        failed = 0;
        goto done;
    }
    if (!PyObject_TypeCheck(span, &SpanBaseType)) {
        PyErr_SetString(PyExc_TypeError, "not a span");
        goto done;
    }
    if (reply == Py_None) {
        result = PyObject_CallMethod(span, "set_error", "s", "MessagingTimeout");
        if (result == NULL)
            goto done;
        Py_DECREF(result);
    }
    else {
        if ((failure = item(reply, str_failure)) == NULL)
            goto done;
        int given = PyObject_IsTrue(failure);
        if (given < 0)
            goto done;
        if (given) {  /* the remote error's name: tracer/rpc.py says how */
            result = PyObject_CallMethodObjArgs((PyObject *)self, str_set_failure, span,
                                                failure, NULL);
            if (result == NULL)
                goto done;
            Py_DECREF(result);
        }
    }
    if (tracer_finish_at((PyObject *)tracer, (SpanBase *)span, NULL) < 0)
        goto done;
    failed = 0;
done:
    Py_XDECREF(span);
    if (failed)
        return hook_failed(self, "reply_received");
    Py_RETURN_NONE;
}

/* ``value`` when it can be a trace or span id (tracer.py's safe_id: a non-empty str of
 * ASCII letters, digits and dashes), else None (borrowed). */
static PyObject *
safe_id(PyObject *value)
{
    Py_ssize_t i, size;
    const Py_UCS1 *text;
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value))
        return Py_None;
    size = PyUnicode_GET_LENGTH(value);
    if (size == 0)
        return Py_None;
    text = PyUnicode_1BYTE_DATA(value);
    for (i = 0; i < size; i++) {
        Py_UCS1 c = text[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || c == '-'))
            return Py_None;
    }
    return value;
}

/* getattr(ctxt, name, None) or message[key] (new reference). */
static PyObject *
context_value(PyObject *ctxt, PyObject *name, PyObject *message, PyObject *key)
{
    PyObject *value = PyObject_GetAttr(ctxt, name), *fallback;
    int given;
    if (value == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear();
        value = Py_NewRef(Py_None);
    }
    given = PyObject_IsTrue(value);
    if (given != 0) {
        if (given < 0)
            Py_CLEAR(value);
        return value;
    }
    Py_DECREF(value);
    fallback = item(message, key);
    return fallback ? Py_NewRef(fallback) : NULL;
}

static PyObject *
dispatch_started(InstrumentBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *target, *message, *ctxt, *info, *trace_id = Py_None, *parent_id = Py_None,
        *shape = NULL, *msg_id, *attributes = NULL, *reply_q, *kind, *request_id = NULL,
        *global_request_id = NULL, *span = NULL, *token = NULL, *key = NULL, *value;
    TracerBase *tracer;
    int failed = -1, server;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "dispatch_started() takes target, message, ctxt");
        return NULL;
    }
    target = args[0];
    message = args[1];
    ctxt = args[2];
    if ((tracer = instrument_tracer(self)) == NULL || !ready()
        || (info = item(message, str_trace_key)) == NULL)
        goto done;
    if (PyDict_CheckExact(info)) {
        if ((value = item(info, str_base_id)) == NULL)
            goto done;
        trace_id = safe_id(value);
        if ((value = item(info, str_parent_id)) == NULL)
            goto done;
        parent_id = safe_id(value);
    }
    if ((shape = shape_of(self, str_server_side, target, message)) == NULL
        || (msg_id = item(message, str_msg_id)) == NULL
        || (attributes = attributes_of(shape, msg_id)) == NULL
        || (reply_q = item(message, str_reply_q)) == NULL)
        goto done;
    server = PyObject_IsTrue(msg_id);
    if (server > 0)
        server = PyObject_IsTrue(reply_q);
    if (server < 0)
        goto done;
    kind = server ? str_server_side : str_consumer;
    if ((request_id = context_value(ctxt, str_request_id, message,
                                    str_context_request_id)) == NULL
        || (global_request_id = context_value(ctxt, str_global_request_id, message,
                                              str_context_global_request_id)) == NULL
        || (span = rpc_span(tracer, PyTuple_GET_ITEM(shape, 0), attributes, kind, Py_None,
                            trace_id, parent_id, request_id, global_request_id,
                            PyTuple_GET_ITEM(shape, 3))) == NULL
        || (token = span_enter((SpanBase *)span, NULL)) == NULL
        || missing(tracer->dispatches, "_dispatches")
        || (key = PyLong_FromVoidPtr(message)) == NULL
        || PyObject_SetItem(tracer->dispatches, key, span) < 0)
        goto done;
    failed = 0;
done:
    Py_XDECREF(shape);
    Py_XDECREF(attributes);
    Py_XDECREF(request_id);
    Py_XDECREF(global_request_id);
    Py_XDECREF(span);
    Py_XDECREF(token);
    Py_XDECREF(key);
    if (failed)
        return hook_failed(self, "dispatch_started");
    Py_RETURN_NONE;
}

static PyObject *
dispatch_finished(InstrumentBase *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *message, *error, *key = NULL, *span = NULL, *result;
    TracerBase *tracer;
    int failed = -1;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "dispatch_finished() takes target, message, ctxt, result, error");
        return NULL;
    }
    message = args[1];
    error = args[4];
    if ((tracer = instrument_tracer(self)) == NULL
        || missing(tracer->dispatches, "_dispatches")
        || (key = PyLong_FromVoidPtr(message)) == NULL
        || (span = pop(tracer->dispatches, key)) == NULL)
        goto done;
    if (span == Py_None) {
        failed = 0;
        goto done;
    }
    if (!PyObject_TypeCheck(span, &SpanBaseType)) {
        PyErr_SetString(PyExc_TypeError, "not a span");
        goto done;
    }
    if (error != Py_None) {
        result = PyObject_CallMethodOneArg(span, str_set_error, error);
        if (result == NULL)
            goto done;
        Py_DECREF(result);
    }
    if (span_reset((SpanBase *)span) < 0
        || tracer_finish_at((PyObject *)tracer, (SpanBase *)span, NULL) < 0)
        goto done;
    failed = 0;
done:
    Py_XDECREF(key);
    Py_XDECREF(span);
    if (failed)
        return hook_failed(self, "dispatch_finished");
    Py_RETURN_NONE;
}

static PyMethodDef instrument_methods[] = {
    {"message_sent", (PyCFunction)(void (*)(void))message_sent, METH_FASTCALL,
     "message_sent(kind, target, message): the sender's span; the trace info goes into "
     "the message."},
    {"reply_received", (PyCFunction)(void (*)(void))reply_received, METH_FASTCALL,
     "reply_received(target, message, reply): a call's span ends."},
    {"dispatch_started", (PyCFunction)(void (*)(void))dispatch_started, METH_FASTCALL,
     "dispatch_started(target, message, ctxt): the receiver's span, made current."},
    {"dispatch_finished", (PyCFunction)(void (*)(void))dispatch_finished, METH_FASTCALL,
     "dispatch_finished(target, message, ctxt, result, error): the receiver's span ends."},
    {NULL}
};

static PyMemberDef instrument_members[] = {
    {"tracer", T_OBJECT_EX, offsetof(InstrumentBase, tracer), 0, NULL},
    {"_shapes", T_OBJECT_EX, offsetof(InstrumentBase, shapes), 0, NULL},
    {NULL}
};

static PyTypeObject InstrumentBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nova_sim.trace._speedups.InstrumentBase",
    .tp_doc = "The RPC layer's tracing hooks (see tracer/rpc.py's RPCInstrument).",
    .tp_basicsize = sizeof(InstrumentBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)instrument_dealloc,
    .tp_traverse = (traverseproc)instrument_traverse,
    .tp_clear = (inquiry)instrument_clear,
    .tp_methods = instrument_methods,
    .tp_members = instrument_members,
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
    if (PyType_Ready(&SpanBaseType) < 0 || PyType_Ready(&TracerBaseType) < 0
        || PyType_Ready(&InstrumentBaseType) < 0)
        return NULL;
#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL
    INTERN(str_name_attr, "name");
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
    INTERN(str_method, "method");
    INTERN(str_namespace, "namespace");
    INTERN(str_version, "version");
    INTERN(str_topic, "topic");
    INTERN(str_server, "server");
    INTERN(str_msg_id, "_msg_id");
    INTERN(str_reply_q, "_reply_q");
    INTERN(str_context_request_id, "_context_request_id");
    INTERN(str_context_global_request_id, "_context_global_request_id");
    INTERN(str_trace_key, "_context_trace_info");
    INTERN(str_base_id, "base_id");
    INTERN(str_parent_id, "parent_id");
    INTERN(str_server_side, "server");
    INTERN(str_consumer, "consumer");
    INTERN(str_failure, "failure");
    INTERN(str_make_shape, "_make_shape");
    INTERN(str_set_failure, "_set_failure");
    INTERN(str_global_request_id, "global_request_id");
    INTERN(str_msg_id_attribute, "msg_id");
    INTERN(str_hmac_key, "hmac_key");
#undef INTERN
    module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddType(module, &SpanBaseType) < 0
        || PyModule_AddType(module, &TracerBaseType) < 0
        || PyModule_AddType(module, &InstrumentBaseType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
