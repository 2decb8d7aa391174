// A plain function returning a rejected promise.
exports.main = function () {
  return Promise.reject(new Error('rejected: secret detail'));
};
