// The older (event, context, callback) style.
exports.main = (event, context, callback) => {
  setTimeout(() => callback(null, { style: 'callback' }), 1);
};
