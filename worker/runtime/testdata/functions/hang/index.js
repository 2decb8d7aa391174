// ?hang=1 returns a promise that never settles (the event loop stays free);
// ?wait=ms answers after that long, logging "waiting <ms>" first and
// "done <ms>" when the time is up; otherwise it answers at once.
exports.main = (event) => {
  const q = event.queryStringParameters || {};
  if (q.hang) {
    return new Promise(() => {});
  }
  if (q.wait) {
    console.log('waiting', q.wait);
    return new Promise((resolve) => {
      setTimeout(() => {
        console.log('done', q.wait);
        resolve({ pid: process.pid });
      }, Number(q.wait));
    });
  }
  return { pid: process.pid };
};
