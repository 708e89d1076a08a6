// The first lines of dist/sessctl.cjs: scripts/bundle.mjs puts this file's
// text before the bundled code. Helpers that the bundle's rewritten modules
// call (scripts/bundle.mjs says which and why), as plain declarations run in
// the bundle's scope (its require and __filename);
// test/cli/bundle-runtime.test.ts runs them in a context of its own.
'use strict';
const __bundlePath = require('node:path');
const { existsSync: __bundleExists, realpathSync: __bundleRealpath } = require('node:fs');
/** The bundle's file URL, where our modules' import.meta.url was (made when asked for). */
const __bundleUrl = () => require('node:url').pathToFileURL(__filename).href;

/** A module's exports, required on first use of one of them (lazyRequires). */
const __bundleLazy = (load) => {
  let m;
  const get = () => (m ??= load());
  return new Proxy({}, {
    get: (_, k) => get()[k],
    set: (_, k, v) => ((get()[k] = v), true),
    has: (_, k) => k in get(),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_, k) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), k);
      if (d) d.configurable = true;
      return d;
    },
  });
};

/** Where Node would find a package from here (its package.json need not be in its exports); once a package. */
const __bundlePackageDirs = new Map();
const __bundlePackageDir = (name) => {
  if (!__bundlePackageDirs.has(name)) {
    const dirs = require.resolve.paths(name).map((dir) => __bundlePath.join(dir, name));
    __bundlePackageDirs.set(name, dirs.find((dir) => __bundleExists(__bundlePath.join(dir, 'package.json'))));
  }
  return __bundlePackageDirs.get(name);
};

/**
 * oclif's command ids compared as localeCompare would, without setting up
 * ICU's collator (about 7 ms) where code-unit order is the same: ids of a-z,
 * ":" and "-" under a locale whose collation orders those by code unit (C,
 * POSIX, English; ICU's default locale is the first of LC_ALL, LC_MESSAGES,
 * LANG that is set). Other ids and locales (cs_CZ puts "ch" after "h", da_DK
 * "aa" after "z") go through localeCompare.
 */
const __bundleCodeUnitLocale = /^(C|POSIX|en)([_.@-]|$)/.test(process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || 'C');
const __bundleCompareIds = (a, b) =>
  __bundleCodeUnitLocale && /^[a-z:-]*$/.test(a) && /^[a-z:-]*$/.test(b) ? (a < b ? -1 : a > b ? 1 : 0) : a.localeCompare(b);

/**
 * Whether an `oclif.plugins` pattern is a plain npm package name, which
 * minimatch matches only to itself: no glob characters, no leading "!" or
 * "#", no "." or ".." part.
 */
const __bundleIsPackageName = (pattern) => /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(pattern);

/**
 * A debug function for `namespace`, as the debug package makes one: with
 * DEBUG unset or empty, debug enables no namespace, so the function is a
 * no-op and the package (with tty, util and supports-color) is not loaded;
 * with DEBUG set, the package's own.
 */
const __bundleDebug = (load, namespace) => {
  if (process.env.DEBUG) return load()(namespace);
  const off = () => {};
  return Object.assign(off, { enabled: false, namespace, extend: (ns, delimiter = ':') => __bundleDebug(load, `${namespace}${delimiter}${ns}`) });
};

/**
 * The package.json of `name` where require.resolve(name, { paths: [from] })
 * finds the package: in the first node_modules directory up from `from` that
 * holds it, symbolic links resolved; undefined when none does (oclif then asks
 * require.resolve). oclif takes the plugin's root from this path; require.resolve
 * would also resolve the package's exports, loading Node's ES-module resolver.
 */
const __bundleInstalledPackage = (name, from) => {
  for (let dir = __bundlePath.resolve(from); ; dir = __bundlePath.dirname(dir)) {
    if (__bundlePath.basename(dir) !== 'node_modules') {
      const pjson = __bundlePath.join(dir, 'node_modules', name, 'package.json');
      if (__bundleExists(pjson)) return __bundleRealpath(pjson);
    }
    if (__bundlePath.dirname(dir) === dir) return undefined;
  }
};
