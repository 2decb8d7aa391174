'use strict';
// A streamed response (#17): server-sent events "data: 1" .. "data: n",
// one every gap ms, as an async generator (or, with ?readable=1, a Node
// Readable made from it). ?fail=i throws instead of event i; ?size=b
// yields b bytes of "x" per event instead of an event. It logs each
// event as it emits it and when context.signal tells it to stop.
const { Readable } = require('node:stream');

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

exports.main = async (event, context) => {
  const q = event.queryStringParameters || {};
  const n = Number(q.n || 20);
  const gap = Number(q.gap || 100);
  const fail = Number(q.fail || 0);
  const size = Number(q.size || 0);
  async function* events() {
    for (let i = 1; i <= n; i++) {
      if (i === fail) throw new Error('the model went away');
      if (size === 0) console.log(`emit ${i}`);
      yield size ? Buffer.alloc(size, 'x') : `data: ${i}\n\n`;
      if (gap > 0) await sleep(gap, context.signal);
      if (context.signal.aborted) {
        console.log(`aborted after ${i}: ${context.signal.reason.message}`);
        return;
      }
    }
  }
  return {
    statusCode: 200,
    headers: { 'content-type': size ? 'application/octet-stream' : 'text/event-stream' },
    body: q.readable ? Readable.from(events()) : events(),
  };
};
