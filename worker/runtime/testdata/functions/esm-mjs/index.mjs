// An ES module: index.mjs, importing a sibling module.
import { greeting } from './greeting.mjs';

export const main = async (event, context) => ({ style: 'mjs', greeting, fn: context.functionName });
