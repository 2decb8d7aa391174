exports.main = async () => {};
