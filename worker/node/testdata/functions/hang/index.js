// ?hang=1 returns a promise that never settles (the event loop stays free);
// otherwise it answers at once.
exports.main = (event) => {
  if (event.queryStringParameters?.hang) {
    return new Promise(() => {});
  }
  return { pid: process.pid };
};
