const greet = require('./lib/greet');
const dep = require('fake-dep');

exports.main = async () => ({ local: greet('local'), dep: dep.name });
