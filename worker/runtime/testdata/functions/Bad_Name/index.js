// Skipped: not a valid function name.
exports.main = async () => 'unreachable';
