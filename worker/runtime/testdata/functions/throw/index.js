exports.main = async () => {
  throw new Error('boom: secret detail');
};
