// Not async: throws before returning anything.
exports.main = function () {
  throw new TypeError('sync: secret detail');
};
