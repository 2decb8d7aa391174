# fngate Python bootstrap: hosts one CloudBase function (def main(event,
# context), or async def) in a long-lived process for the Go worker. It
# speaks the frame protocol of bootstrap.js (see there and frame.go):
# invocations arrive on fd 3; results, errors and output leave on fd 4, so
# nothing the function prints can corrupt the protocol.
#
# A plain def runs on the event loop's thread: such calls run one at a time,
# and one that never returns blocks the loop, so the worker's ping after its
# timeout goes unanswered and the process is replaced. An async def runs as
# a task: many at once, and one that never finishes is abandoned (cancelled)
# while the process keeps serving. A new frame type is one more branch in
# Reader.frame (and in proc.dispatch on the Go side).
import asyncio
import contextvars
import importlib.util
import inspect
import io
import json
import logging
import os
import struct
import sys
import threading
import time
import traceback

T_CALL, T_RELOAD, T_PING, T_CANCEL = ord("c"), ord("r"), ord("p"), ord("x")
T_LOADED, T_RESULT, T_ERROR, T_LOG, T_PONG = ord("y"), ord("o"), ord("e"), ord("l"), ord("q")

# The worker passes the folder, name and memory limit as arguments
# (python3 -u -c <this> <dir> <name> <MB>), taken out of sys.argv here.
fn_dir, fn_name, max_mb = sys.argv[1:4]
del sys.argv[1:4]
entry = os.path.join(fn_dir, "index.py")
real_dir = os.path.realpath(fn_dir)
sys.path.insert(0, fn_dir)
# Bytecode written into the function's folder would look like an edit.
sys.dont_write_bytecode = True

_wlock = threading.Lock()


def send(typ, ident, body):
    data = struct.pack(">IBI", 5 + len(body), typ, ident) + body
    with _wlock:
        try:
            while data:
                data = data[os.write(4, data):]
        except OSError:
            os._exit(1)  # the worker is gone


# The call running in this context: (frame id, request id).
current = contextvars.ContextVar("fngate_call", default=(0, ""))


def emit(stream, text):
    ident, rid = current.get()
    send(T_LOG, ident, json.dumps({"r": rid, "s": stream, "m": text}, ensure_ascii=False).encode())


class Stream(io.TextIOBase):
    """print and sys.stderr, a line at a time, with the request id."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = ""

    def writable(self):
        return True

    def write(self, text):
        self.buf += text
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            emit(self.stream, line)
        return len(text)

    def flush(self):
        if self.buf:
            line, self.buf = self.buf, ""
            emit(self.stream, line)


sys.stdout = Stream("log")
sys.stderr = Stream("error")


class Handler(logging.Handler):
    def emit(self, record):
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a bad format string must not kill a call
            text = str(record.msg)
        if record.levelno >= logging.ERROR:
            stream = "error"
        elif record.levelno >= logging.WARNING:
            stream = "warn"
        elif record.levelno >= logging.INFO:
            stream = "info"
        else:
            stream = "debug"
        emit(stream, text)


logging.basicConfig(level=logging.INFO, handlers=[Handler()], format="%(name)s: %(message)s", force=True)


def describe(err):
    msg = str(err) or type(err).__name__
    stack = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return msg, stack


def fail(ident, code, err, rid):
    msg, stack = describe(err)
    send(T_ERROR, ident, json.dumps({"code": code, "message": msg, "stack": stack, "rid": rid}).encode())


def own_file(file):
    for d in (fn_dir, real_dir):
        if file.startswith(d + os.sep):
            return "site-packages" not in file[len(d):].split(os.sep)
    return False


main = None
load_error = None


def load(reload):
    global main, load_error
    main, load_error = None, None
    for key, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if f and own_file(f):
            del sys.modules[key]
    importlib.invalidate_caches()
    try:
        spec = importlib.util.spec_from_file_location("index", entry)
        if spec is None:
            raise ImportError(f"{entry} cannot be loaded")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["index"] = mod
        spec.loader.exec_module(mod)
        fn = getattr(mod, "main", None)
        if not callable(fn):
            raise AttributeError(f"{entry} does not define main: write def main(event, context): ...")
        main = fn
    except Exception as err:  # noqa: BLE001 - any load failure is reported
        load_error = describe(err)
    if load_error:
        body = {"ok": False, "reload": reload, "error": load_error[0], "stack": load_error[1]}
    else:
        body = {"ok": True, "reload": reload, "python": sys.version.split()[0]}
    send(T_LOADED, 0, json.dumps(body).encode())


class Context:
    """The context argument: attributes, or keys as in a dict."""

    def __init__(self, rid, rc, deadline):
        self.request_id = self.requestId = rid
        self.function_name = self.functionName = rc.get("functionName") or fn_name
        self.env_id = self.envId = rc.get("envId") or ""
        self.traceparent = rc.get("traceparent") or ""
        self.memory_limit_in_mb = int(max_mb) if max_mb.isdigit() else None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        if self._deadline > 0:
            return max(0, round(self._deadline - time.time() * 1000))
        return 2147483647

    getRemainingTimeInMillis = get_remaining_time_in_millis

    def __getitem__(self, key):
        return getattr(self, key)

    def get(self, key, default=None):
        return getattr(self, key, default)


# Calls whose result the worker still waits for: id -> task (None while a
# plain def runs).
live = {}


def finish(ident, rid, value):
    if ident not in live:
        return  # cancelled
    del live[ident]
    try:
        body = json.dumps(value, ensure_ascii=False).encode()
    except (TypeError, ValueError) as err:
        return fail(ident, "INVALID_RESPONSE", err, rid)
    send(T_RESULT, ident, body)


def failed(ident, rid, err):
    if live.pop(ident, 0) != 0:
        fail(ident, "FUNCTION_ERROR", err, rid)


async def run_async(ident, rid, awaitable):
    try:
        value = await awaitable
    except asyncio.CancelledError:
        live.pop(ident, None)
        return
    except Exception as err:  # noqa: BLE001 - the function's error
        return failed(ident, rid, err)
    finish(ident, rid, value)


def call(loop, ident, deadline, body):
    try:
        event = json.loads(body)
    except ValueError as err:
        return fail(ident, "INVALID_EVENT", err, "")
    rc = event.get("requestContext") if isinstance(event, dict) else None
    rc = rc if isinstance(rc, dict) else {}
    rid = rc.get("requestId") if isinstance(rc.get("requestId"), str) else ""
    if main is None:
        msg, stack = load_error
        send(T_ERROR, ident, json.dumps({"code": "FUNCTION_LOAD_ERROR", "message": msg, "stack": stack, "rid": rid}).encode())
        return
    fn = main
    ctx = contextvars.copy_context()
    ctx.run(current.set, (ident, rid))
    live[ident] = None
    try:
        value = ctx.run(fn, event, Context(rid, rc, deadline))
    except Exception as err:  # noqa: BLE001 - the function's error
        return failed(ident, rid, err)
    if inspect.isawaitable(value):
        # Created inside ctx, the task logs with this call's request id.
        live[ident] = ctx.run(loop.create_task, run_async(ident, rid, value))
        return
    finish(ident, rid, value)


class Reader(asyncio.Protocol):
    def __init__(self, loop):
        self.loop = loop
        self.buf = bytearray()

    def data_received(self, data):
        self.buf += data
        while len(self.buf) >= 4:
            (n,) = struct.unpack_from(">I", self.buf)
            if len(self.buf) < 4 + n:
                return
            frame = bytes(self.buf[4:4 + n])
            del self.buf[:4 + n]
            self.frame(frame)

    def frame(self, frame):
        typ = frame[0]
        (ident,) = struct.unpack_from(">I", frame, 1)
        if typ == T_CALL:
            (deadline,) = struct.unpack_from(">d", frame, 5)
            call(self.loop, ident, deadline, frame[13:])
        elif typ == T_RELOAD:
            load(True)
        elif typ == T_PING:
            send(T_PONG, ident, b"")
        elif typ == T_CANCEL:
            task = live.pop(ident, None)
            if task is not None:
                task.cancel()
        else:
            os.write(2, f"fngate bootstrap: unknown frame type {typ}\n".encode())
            os._exit(70)

    def connection_lost(self, exc):
        # The worker closed its end or died: nothing more will come.
        os._exit(0 if exc is None else 1)


async def serve():
    loop = asyncio.get_running_loop()
    load(False)
    await loop.connect_read_pipe(lambda: Reader(loop), os.fdopen(3, "rb", buffering=0))
    await loop.create_future()  # until connection_lost exits


asyncio.run(serve())
