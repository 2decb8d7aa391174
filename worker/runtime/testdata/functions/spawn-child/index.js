// Starts a long sleep that outlives the call, to check that it is killed
// with the process.
const { spawn } = require('node:child_process');

exports.main = async () => {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  return { pid: child.pid };
};
