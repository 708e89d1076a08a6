// The floor of bench/startup (run by it): the least any implementation of a
// command could do, without oclif or sessctl's code. It writes the output the
// real command wrote (captured by bench/startup.mjs into OUTPUT), after doing
// the part of the command's work that needs Node's heavier parts:
//   get FILE OUTPUT    reads the session file, loads node:crypto and hashes it
//                      (get shows SHA-256 values and parses the peer certificate)
//   list DB OUTPUT     opens the cache file with better-sqlite3 (its addon) read-only
//                      and reads every row
// CommonJS, as bin/run.js: no ES-module loader.
'use strict';
const { readFileSync } = require('node:fs');

const [mode, input, output] = process.argv.slice(2);
if (mode === 'get') {
  require('node:crypto').createHash('sha256').update(readFileSync(input)).digest();
} else if (mode === 'list') {
  const Database = require('better-sqlite3');
  const db = new Database(input, { readonly: true, fileMustExist: true });
  db.prepare('SELECT * FROM sessions').raw().all();
  db.close();
} else {
  throw new Error(`usage: startup-floor.cjs get|list INPUT OUTPUT`);
}
process.stdout.write(readFileSync(output));
