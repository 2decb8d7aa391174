exports.handler = async () => 'main is missing';
