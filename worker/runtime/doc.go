// Package runtime hosts CloudBase-style functions written in Node.js and
// Python in the worker, on one supervised process pool: modules that export
// main, as in
//
//	exports.main = async (event, context) => {
//		return { statusCode: 200, body: JSON.stringify({ hello: event.path }) };
//	};
//
// or, in Python,
//
//	def main(event, context):
//	    return {"statusCode": 200, "body": json.dumps({"hello": event["path"]})}
//
// run unchanged on a real Node.js 18 or newer or Python 3.9 or newer. The
// file present chooses the [Language] (index.js or index.mjs: Node.js;
// index.py: Python), or the function's [ConfigFile] pins it ("runtime").
// Everything below is the pool's, the same for each language; a language
// only says how to start a process that speaks the frame protocol
// (frame.go) with its bootstrap (bootstrap.js, bootstrap.py).
//
// Processes start at a function's first call (or at New with
// [Config.Preload]), stop after [Config.IdleTimeout] without calls, and
// [Config.MaxProcs] bounds them across functions, the least recently used
// idle function making room. Folders added to or removed from the directory
// are followed ([Runtime.Follow]).
//
// The rest of this comment was written for Node.js and holds for Python
// with its words: a plain def blocks the event loop as a busy loop does, an
// async def that never finishes is a promise that never settles.
//
// A [Runtime] serves the folders of one directory, <Dir>/<name>/index.js,
// each with its own package.json and node_modules if it has any. Every
// function gets a pool of long-lived Node processes ([Config.Procs]) started
// from a bootstrap script built into the Go binary; one process runs many
// invocations at once. [Runtime.Handler] returns a worker.RawHandler, so the
// event JSON the gateway sent reaches the function unparsed and the value it
// returns (or its promise resolves to) comes back as JSON, which the worker
// turns into the HTTP response by the rules of package event: an envelope
// {statusCode, headers, body, isBase64Encoded} as given, any other value as
// JSON.
//
// The context argument carries requestId, functionName and envId from the
// event's requestContext and getRemainingTimeInMillis, from the call's
// deadline. console.log and friends are captured with the request id of the
// invocation that logged (across awaits) and written to the worker's logger;
// so is anything written to stdout or stderr. Invocations travel on their
// own pipes (fd 3 and 4), never on stdout.
//
// Failures map to the event error codes: a thrown error or rejected promise
// is FUNCTION_ERROR (its message logged, not sent unless
// [Config.ExposeErrors]); a function that does not load (syntax error, no
// main export) is FUNCTION_LOAD_ERROR for every call until its files are
// fixed; a call still running at its deadline fails with FUNCTION_TIMEOUT
// at once. A process that dies (process.exit, an uncaught exception or
// unhandled rejection, as in plain Node.js, or running out of memory) fails
// the invocations it was running at once and is restarted, with backoff
// when it keeps dying.
//
// After a timeout the process is probed: it is sent a ping, which the
// bootstrap answers only while its event loop turns, and it takes no new
// invocations until the probe ends (they go to the function's other
// processes, or wait).
//   - A pong within [Config.ProbeGrace] (default 1s) means the event loop
//     is free and the function's promise just had not settled. The process
//     keeps running with the other invocations it serves, a warning with
//     the function and request id is logged, and the bootstrap is told to
//     forget the invocation. Its promise cannot be stopped: the function
//     may go on running in Node (timers, sockets, console output, which is
//     still logged), and whatever it resolves or rejects to later is
//     dropped.
//   - No pong within the grace means the event loop is blocked (a busy
//     loop): the process and whatever it started are killed and replaced,
//     failing the other invocations it was running at once with
//     FUNCTION_ERROR.
//
// One probe runs at a time per process; invocations that time out while it
// waits are covered by its next ping, so a burst of timeouts costs at most
// one kill. An invocation whose caller gives up (its context cancelled
// before the deadline) is forgotten the same way, without a probe.
//
// A function's process gets a small environment: PATH, HOME, LANG, TZ and
// NODE_* from the worker's ([BaseEnv]), the variables named in
// [Config.PassEnv], and the "env" of the function's own [ConfigFile]
// (fngate.json). Nothing else of the worker's environment (its Redis and
// NATS credentials, its admin token) reaches it, and the bootstrap's own
// settings come as arguments it removes from process.argv. The worker makes
// itself non-dumpable, so a function running as its user cannot read
// /proc/<worker>/environ either. With [Config.UID] a worker running as root
// runs the functions as another user, or one user each.
//
// The files of each function (not node_modules) are polled every
// [Config.ReloadInterval]; on a change its processes drop the function's
// modules from require.cache and load it again, while invocations already
// running finish on the old code.
package runtime
