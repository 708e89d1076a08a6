/**
 * Loads the bundled CLI, dist/sessctl.cjs (scripts/bundle.mjs), as require()
 * would, but compiled with the V8 code cache that the build wrote beside it
 * (scripts/code-cache.mjs): V8 then skips parsing and compiling the functions
 * in the cache. Node 20 has no such cache of its own (module.enableCompileCache
 * is Node 22). A cache that does not fit this Node (another V8 version or
 * flags) is rejected by V8, and the bundle is compiled as usual.
 */
'use strict';
const { createRequire, Module } = require('node:module');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, '../dist/sessctl.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;

/** Runs the bundle once; returns its exports, and the script for createCachedData(). */
function loadBundle() {
  let cachedData;
  try {
    cachedData = readFileSync(CODE_CACHE);
  } catch {
    cachedData = undefined; // no cache (a build without one): compiled as usual
  }
  // CommonJS's wrapper, and the bundle's import() (scripts/bundle.mjs): as from a file here.
  // latin1: the build writes the bundle in ASCII (scripts/bundle.mjs), and latin1 is read without UTF-8 decoding.
  const source = `(function (exports, require, module, __filename, __dirname, __bundleImport) { ${readFileSync(BUNDLE, 'latin1')}\n})`;
  const script = new vm.Script(source, { filename: BUNDLE, cachedData });
  const require = createRequire(BUNDLE);
  const module = new Module(BUNDLE);
  module.filename = BUNDLE;
  // oclif requires the bundle again for its commands (package.json oclif.commands): it gets this one.
  require.cache[BUNDLE] = module;
  script.runInThisContext()(module.exports, require, module, BUNDLE, path.dirname(BUNDLE), (specifier) => import(specifier));
  module.loaded = true;
  return { exports: module.exports, script };
}

module.exports = { BUNDLE, CODE_CACHE, loadBundle };
