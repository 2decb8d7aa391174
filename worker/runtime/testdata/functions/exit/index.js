// ?exit=1 ends the process in the middle of the call; ?wait=ms waits that
// long (logging "waiting"); otherwise it answers at once.
exports.main = async (event) => {
  const q = event.queryStringParameters || {};
  if (q.exit) {
    process.exit(3);
  }
  if (q.wait) {
    console.log('waiting');
    await new Promise((resolve) => setTimeout(resolve, Number(q.wait)));
  }
  return { pid: process.pid };
};
