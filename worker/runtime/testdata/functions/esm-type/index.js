// index.js as an ES module: package.json says "type": "module".
import path from 'node:path';

export async function main(event) {
  return { style: 'type-module', base: path.basename(import.meta.url) };
}
