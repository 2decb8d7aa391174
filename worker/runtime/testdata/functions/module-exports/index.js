module.exports.main = async () => ({ style: 'module.exports.main' });
