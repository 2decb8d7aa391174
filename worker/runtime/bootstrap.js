'use strict';
// fngate Node.js bootstrap: hosts one CloudBase function (exports.main) in a
// long-lived process for the Go worker. Invocations arrive on fd 3 and
// results, errors and console output leave on fd 4, so nothing the function
// writes to stdout or stderr can corrupt the protocol.
//
// Frame: uint32 BE length of the rest, uint8 type, uint32 BE id, payload.
//   Go -> Node: 'c' call (payload: float64 BE deadline in unix ms, 0 for none,
//               then the event JSON), 'r' reload, 'p' ping (no payload),
//               'x' cancel call id (no payload), 'k' credit of stream id
//               (the number of chunks it may have sent in all, as text).
//   Node -> Go: 'y' loaded (JSON {ok, error, stack, node}), 'o' result (the
//               return value as JSON), 'e' error (JSON {code, message, stack,
//               rid}), 'l' console output (JSON {r: request id, s: stream,
//               m: text}), 'q' pong (the id of the ping, no payload);
//               for a streamed response (#17): 's' start (the envelope
//               without body, JSON), 'd' a chunk of at most 32 KiB, 'z'
//               end (no payload), 'f' failure (as 'e').
//
// A function streams by returning {statusCode, headers, body} whose body
// is an async iterable: an async generator or a Node Readable, yielding
// strings, Buffers or Uint8Arrays. The body is pulled only while the
// worker's credit lasts, so a client that stops reading stops it; a
// client that leaves aborts context.signal and ends the iteration
// (return()).
//
// A ping is answered as soon as it is read, which happens only while the
// event loop turns: the worker pings after a call passed its deadline to
// tell a promise that never settles (the loop is free) from a function that
// blocks the loop. A cancel frame comes for a call the worker stopped
// waiting for (its caller left, or an operator cancelled the invocation):
// its promise cannot be stopped, but context.signal (an AbortSignal) is
// aborted so a function that watches it can stop early, and whatever it
// settles to is dropped.

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');
const { AsyncLocalStorage } = require('node:async_hooks');

const T_CALL = 0x63; // c
const T_RELOAD = 0x72; // r
const T_PING = 0x70; // p
const T_CANCEL = 0x78; // x
const T_LOADED = 0x79; // y
const T_RESULT = 0x6f; // o
const T_ERROR = 0x65; // e
const T_LOG = 0x6c; // l
const T_PONG = 0x71; // q
const T_CREDIT = 0x6b; // k
const T_STREAM = 0x73; // s
const T_DATA = 0x64; // d
const T_END = 0x7a; // z
const T_FAIL = 0x66; // f
const MAX_CHUNK = 32 << 10; // event.MaxChunk

// Ids of the calls running whose result the worker still waits for.
const live = new Set();
// aborts holds the AbortController of each live call (context.signal).
const aborts = new Map();
// streams holds the state of each streamed response being sent.
const streams = new Map();

// The worker passes the function's folder, name, memory limit and entry file
// as arguments (node -e <this> <dir> <name> <MB> <file>), taken out of
// process.argv here so that the function sees a plain argv and an
// environment that is its own.
const [dir, name, maxOldSpaceMB, entryFile] = process.argv.splice(1, 4);
const entry = path.join(dir, entryFile || 'index.js');
// require.cache is keyed by real path.
let realDir = dir;
try {
  realDir = fs.realpathSync(dir);
} catch {}
const als = new AsyncLocalStorage();

const out = new net.Socket({ fd: 4, readable: false, writable: true });
out.on('error', () => process.exit(1)); // the worker is gone

function send(type, id, body) {
  const n = Buffer.byteLength(body);
  const b = Buffer.allocUnsafe(9 + n);
  b.writeUInt32BE(5 + n, 0);
  b[4] = type;
  b.writeUInt32BE(id, 5);
  b.write(body, 9, 'utf8');
  out.write(b);
}

function sendBuf(type, id, buf) {
  const h = Buffer.allocUnsafe(9);
  h.writeUInt32BE(5 + buf.length, 0);
  h[4] = type;
  h.writeUInt32BE(id, 5);
  out.write(h);
  out.write(buf);
}

function emit(stream, text) {
  const st = als.getStore();
  send(T_LOG, st ? st.id : 0, JSON.stringify({ r: st ? st.rid : '', s: stream, m: text }));
}

for (const s of ['log', 'info', 'warn', 'error', 'debug']) {
  console[s] = (...args) => emit(s, util.formatWithOptions({ colors: false }, ...args));
}
console.trace = (...args) => {
  const e = { name: 'Trace', message: util.format(...args) };
  Error.captureStackTrace(e, console.trace);
  emit('trace', e.stack);
};
console.dir = (obj, opts) => emit('log', util.inspect(obj, { ...opts, colors: false }));

function describe(err) {
  if (err instanceof Error) {
    return { message: String(err.message), stack: String(err.stack || err.message) };
  }
  const s = typeof err === 'string' ? err : util.inspect(err);
  return { message: s, stack: s };
}

// Files of the function itself, not its dependencies, are dropped from the
// cache on reload.
function ownFile(file) {
  for (const d of [dir, realDir]) {
    if (file.startsWith(d + path.sep)) {
      return !file.slice(d.length).split(path.sep).includes('node_modules');
    }
  }
  return false;
}

let main = null;
let loadError = null;
let loads = 0; // cache buster of ES module reloads

// isModule reports whether entry is an ES module: index.mjs, or index.js
// with "type": "module" in the function's package.json.
function isModule() {
  if (entry.endsWith('.mjs')) return true;
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type === 'module';
  } catch {
    return false;
  }
}

function mainOf(m) {
  const main = lambdaEntry(m);
  if (!main) {
    throw new Error(`${entry} does not export a main function: write exports.main = async (event, context) => { ... } (or, written for AWS Lambda, exports.handler)`);
  }
  return main;
}

function loaded(reload, fn, err) {
  main = fn;
  loadError = err ? describe(err) : null;
  send(T_LOADED, 0, JSON.stringify(loadError
    ? { ok: false, reload, error: loadError.message, stack: loadError.stack }
    : { ok: true, reload, node: process.version }));
}

function load(reload) {
  for (const k of Object.keys(require.cache)) {
    if (ownFile(k)) delete require.cache[k];
  }
  if (isModule()) {
    // import() caches by URL: a new query loads the edited entry again (the
    // modules it imports are re-read when the process restarts). Calls
    // keep the old main until the new one is there.
    const url = require('node:url').pathToFileURL(entry).href + (loads++ ? `?v=${loads}` : '');
    import(url).then((m) => loaded(reload, mainOf(m), null)).catch((err) => loaded(reload, null, err));
    return;
  }
  try {
    // A require of its own per load, so that old module trees are not kept
    // alive as children of this script.
    loaded(reload, mainOf(require('node:module').createRequire(entry)(entry)), null);
  } catch (err) {
    loaded(reload, null, err);
  }
}

// lambdaEntry is the function m exports: main, or, for code written for
// AWS Lambda, handler when there is no main (#17). Its context carries
// Lambda's names too (see lambdaContext).
function lambdaEntry(m) {
  if (!m) return null;
  if (typeof m.main === 'function') return m.main;
  return typeof m.handler === 'function' ? m.handler : null;
}

// lambdaContext adds the names AWS Lambda's context has to context.
function lambdaContext(context) {
  context.awsRequestId = context.requestId;
  context.callbackWaitsForEmptyEventLoop = true;
  return context;
}

function fail(id, code, err, rid, type = T_ERROR) {
  const d = describe(err);
  send(type, id, JSON.stringify({ code, message: d.message, stack: d.stack, rid }));
}

// streamable reports whether a function's value is a streamed response.
function streamable(v) {
  return v !== null && typeof v === 'object' && v.body !== null && typeof v.body === 'object' &&
    typeof v.body[Symbol.asyncIterator] === 'function';
}

// startStream sends the head of call id's streamed response; its body is
// pulled as credit comes (pump).
function startStream(id, value, rid) {
  const { body, ...head } = value;
  if (head.statusCode === undefined) head.statusCode = 200;
  let json;
  try {
    json = JSON.stringify(head);
  } catch (err) {
    aborts.delete(id);
    return fail(id, 'INVALID_RESPONSE', err, rid);
  }
  streams.set(id, { it: body[Symbol.asyncIterator](), granted: 0, sent: 0, pending: [], busy: false, rid });
  send(T_STREAM, id, json);
}

function chunkBuffer(v) {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`a stream chunk must be a string, Buffer or Uint8Array, not ${typeof v}`);
}

// endStream forgets stream id; stopStream also ends its iteration.
function endStream(id) {
  streams.delete(id);
  aborts.delete(id);
}

function stopStream(id) {
  const st = streams.get(id);
  if (!st) return;
  endStream(id);
  closeBody(st.it);
}

// closeBody ends the iteration of a body (or its iterator) nobody reads:
// a generator's finally blocks run, a Readable is destroyed.
function closeBody(b) {
  try {
    if (typeof b.destroy === 'function') return b.destroy();
    const r = typeof b.return === 'function' ? b.return() : null;
    if (r && typeof r.catch === 'function') r.catch(() => {});
  } catch {}
}

// pump sends what stream id's credit allows, pulling the body for more.
function pump(id) {
  const st = streams.get(id);
  if (!st || st.busy) return;
  while (st.sent < st.granted && st.pending.length) {
    sendBuf(T_DATA, id, st.pending.shift());
    st.sent++;
  }
  if (st.sent >= st.granted || st.pending.length) return;
  st.busy = true;
  als.run({ id, rid: st.rid }, () => Promise.resolve().then(() => st.it.next())).then((r) => {
    st.busy = false;
    if (streams.get(id) !== st) return; // stopped meanwhile
    if (r.done) {
      endStream(id);
      return send(T_END, id, '');
    }
    let buf;
    try {
      buf = chunkBuffer(r.value);
    } catch (err) {
      stopStream(id);
      return fail(id, 'FUNCTION_ERROR', err, st.rid, T_FAIL);
    }
    for (let i = 0; i < buf.length; i += MAX_CHUNK) st.pending.push(buf.subarray(i, i + MAX_CHUNK));
    pump(id);
  }, (err) => {
    st.busy = false;
    if (streams.get(id) !== st) return;
    endStream(id);
    fail(id, 'FUNCTION_ERROR', err, st.rid, T_FAIL);
  });
}

function credit(id, total) {
  const st = streams.get(id);
  if (!st) return;
  st.granted = Math.max(st.granted, total);
  pump(id);
}

function call(id, deadline, body) {
  let event;
  try {
    event = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return fail(id, 'INVALID_EVENT', err, '');
  }
  const rc = (event && typeof event === 'object' && event.requestContext) || {};
  const rid = typeof rc.requestId === 'string' ? rc.requestId : '';
  if (!main) {
    return send(T_ERROR, id, JSON.stringify({ code: 'FUNCTION_LOAD_ERROR', message: loadError.message, stack: loadError.stack, rid }));
  }
  const fn = main;
  const abort = new AbortController();
  const context = lambdaContext({
    signal: abort.signal,
    requestId: rid,
    functionName: rc.functionName || name,
    envId: rc.envId || '',
    traceparent: rc.traceparent || '',
    request_id: rid,
    function_name: rc.functionName || name,
    memory_limit_in_mb: Number(maxOldSpaceMB) || undefined,
    getRemainingTimeInMillis() {
      // setTimeout treats Infinity as 1ms; without a deadline, the most it
      // accepts.
      return deadline > 0 ? Math.max(0, Math.round(deadline - Date.now())) : 2147483647;
    },
  });
  live.add(id);
  aborts.set(id, abort);
  als.run({ id, rid }, () => {
    new Promise((resolve, reject) => {
      // (event, context, callback) handlers may answer through callback.
      const r = fn(event, context, (err, res) => (err ? reject(err) : resolve(res)));
      if (fn.length < 3 || r !== undefined) resolve(r);
    }).then((value) => {
      if (live.has(id) && streamable(value)) {
        live.delete(id);
        return startStream(id, value, rid);
      }
      aborts.delete(id);
      if (!live.delete(id)) { // cancelled
        if (streamable(value)) closeBody(value.body);
        return;
      }
      let json;
      try {
        json = JSON.stringify(value);
      } catch (err) {
        return fail(id, 'INVALID_RESPONSE', err, rid);
      }
      send(T_RESULT, id, json === undefined ? 'null' : json);
    }, (err) => {
      aborts.delete(id);
      if (live.delete(id)) fail(id, 'FUNCTION_ERROR', err, rid);
    });
  });
}

// cancel aborts the signal of call id, once: the function sees
// context.signal.aborted and its 'abort' event.
function cancel(id) {
  const abort = aborts.get(id);
  if (!abort) return;
  aborts.delete(id);
  abort.abort(new Error('the invocation was cancelled'));
}

function handle(frame) {
  const type = frame[0];
  const id = frame.readUInt32BE(1);
  switch (type) {
    case T_CALL:
      call(id, frame.readDoubleBE(5), frame.subarray(13));
      break;
    case T_RELOAD:
      load(true);
      break;
    case T_PING:
      send(T_PONG, id, '');
      break;
    case T_CANCEL:
      live.delete(id);
      cancel(id);
      stopStream(id);
      break;
    case T_CREDIT:
      credit(id, Number(frame.subarray(5).toString('latin1')));
      break;
    default:
      process.stderr.write(`fngate bootstrap: unknown frame type ${type}\n`);
      process.exit(70);
  }
}

const input = new net.Socket({ fd: 3, readable: true, writable: false });
let chunks = [];
let have = 0;
input.on('data', (chunk) => {
  chunks.push(chunk);
  have += chunk.length;
  // Concatenate only once a whole frame is there: large events arrive in
  // many chunks.
  while (have >= 4) {
    if (chunks[0].length < 4) chunks = [Buffer.concat(chunks, have)];
    const len = chunks[0].readUInt32BE(0);
    if (have < 4 + len) return;
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
    const rest = all.subarray(4 + len);
    chunks = rest.length ? [rest] : [];
    have = rest.length;
    handle(all.subarray(4, 4 + len));
  }
});
// The worker closed its end or died: nothing more will come.
input.on('end', () => process.exit(0));
input.on('error', () => process.exit(1));

load(false);
