// ?spin=1 blocks the event loop for good; ?wait=ms waits that long first
// (logging "waiting"); otherwise it answers at once.
exports.main = async (event) => {
  const q = event.queryStringParameters || {};
  if (q.spin) {
    for (;;) {}
  }
  if (q.wait) {
    console.log('waiting');
    await new Promise((resolve) => setTimeout(resolve, Number(q.wait)));
  }
  return { pid: process.pid };
};
