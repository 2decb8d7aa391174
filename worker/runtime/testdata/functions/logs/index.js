// Logs from before and after awaits, from a timer, and raw stdout.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

exports.main = async (event) => {
  const m = event.queryStringParameters.m;
  console.log('start', m);
  await sleep(2);
  console.info('after await', m);
  await Promise.resolve();
  await new Promise((resolve) => setTimeout(() => {
    console.warn('in timer', m);
    resolve();
  }, 1));
  console.error('error', m);
  console.debug('debug', m, { nested: true });
  process.stdout.write(`raw stdout ${m}\n`);
  return m;
};
