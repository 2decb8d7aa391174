// Not async: returns a plain value.
exports.main = function (event) {
  return { style: 'plain', method: event.httpMethod };
};
