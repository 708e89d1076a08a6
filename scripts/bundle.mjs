#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/commands and what they import, with
 * @oclif/core) into one file, dist/sessctl.cjs, which bin/run.js loads; then
 * writes its V8 code cache (scripts/code-cache.mjs). The build runs this after
 * tsc and before `oclif manifest`.
 *
 * Why (docs/BENCHMARKS.md, bench/startup): Node 20 pays for every module it
 * loads (resolve, read, compile, link: about 0.7 ms each), and `sessctl get
 * --in FILE` loaded some 300. In one file V8 compiles only the functions that
 * run, and the code cache spares it most of that too.
 *
 * - The bundle exports COMMANDS, the object oclif's explicit command discovery
 *   reads (package.json oclif.commands): one getter per file of dist/commands,
 *   found here at build time, so no directory is scanned at run time. A
 *   getter runs its command's module (and what that imports) on first use
 *   only: `sessctl get` does not load the code of `serve` or `rotate-keys`.
 * - What the commands import lazily stays lazy: esbuild wraps a dynamically
 *   imported module and runs it on first import.
 * - Left outside, loaded from node_modules when a command needs them:
 *   ioredis and @inquirer/prompts (large, imported lazily), the oclif plugins
 *   (oclif loads them by path), typescript (oclif's development mode only)
 *   and better-sqlite3's native addon (its JavaScript is in the bundle: 13
 *   modules loaded through Node's ES-module loader cost `list` about 8 ms).
 * - CommonJS, not an ES module: vm.Script (bin/run.js) takes a code cache,
 *   and Node 20 has no code cache for ES modules (module.enableCompileCache is
 *   Node 22).
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const outfile = path.join(dist, 'sessctl.cjs');

/** Command ids as oclif's default discovery would name them: dist/commands/a/b.js is "a:b". */
const commandFiles = readdirSync(path.join(dist, 'commands'), { recursive: true })
  .filter((f) => f.endsWith('.js'))
  .sort();
/**
 * oclif's hooks, in the bundle too: a hook in a file of its own is an ES
 * module, and importing it after every command (postrun) started Node's ESM
 * loader: about 8 ms CPU of `sessctl get --in FILE` (docs/BENCHMARKS.md).
 */
const hooks = {
  COMMAND_NOT_FOUND: './lib/cli/not-found.js',
  POSTRUN_COMPLETION_VALUES: './lib/cli/completion-values.js',
};
const entry = [
  "export { execute } from '@oclif/core/execute';",
  'export const COMMANDS = {',
  ...commandFiles.map((f) => {
    const id = f.slice(0, -'.js'.length).split(path.sep).join(':');
    return `  get ${JSON.stringify(id)}() { return require(${JSON.stringify(`./commands/${f.split(path.sep).join('/')}`)}).default; },`;
  }),
  '};',
  // The hooks (package.json oclif.hooks point here): a function each that runs its module on first call.
  ...Object.entries(hooks).map(
    ([name, file]) => `export function ${name}(options) { return require(${JSON.stringify(file)}).default.call(this, options); }`,
  ),
].join('\n');

/**
 * @oclif/core's modules require what they use at their top, so loading its
 * execute() ran most of oclif whatever the command: help, the spinners, the
 * glob libraries of the pattern discovery the explicit strategy never uses,
 * ejs: 99 of its modules ran before any command (docs/BENCHMARKS.md). Its modules
 * are TypeScript's CommonJS output, which uses an imported module only as
 * `name.member`; each `const name = require(...)` whose name is used only so
 * becomes a proxy that requires the module on first use (__bundleLazy, in
 * scripts/bundle-runtime.cjs). A require whose name is used otherwise stays as it is.
 */
const LAZY = /^(const|var) (\w+) = ((?:__importDefault|__importStar)\()?require\(("[^"]+")\)\)?;$/gm;
function lazyRequires(contents) {
  return contents.replace(LAZY, (line, keyword, name, wrap, specifier) => {
    const uses = contents.match(new RegExp(`\\b${name}\\b(?!\\.)`, 'g'));
    if (uses.length !== 1) return line; // used other than as name.member (the one is the declaration)
    return `${keyword} ${name} = __bundleLazy(() => ${wrap ?? ''}require(${specifier})${wrap ? ')' : ''});`;
  });
}
const lazyPackages = [`${path.sep}node_modules${path.sep}@oclif${path.sep}core${path.sep}lib${path.sep}`];

/**
 * Exact rewrites of a few lines of @oclif/core and better-sqlite3, each for a
 * start-up cost measured in docs/BENCHMARKS.md (bench/startup, 2026-12-02
 * later), each keeping what the line did. A line not found fails the build: a
 * new version is checked again rather than bundled unpatched. Keyed by the
 * file's path under node_modules; the helpers they call are in
 * scripts/bundle-runtime.cjs.
 */
const patches = {
  '@oclif/core/lib/config/plugin.js': [
    // A plugin's commands sorted by id: localeCompare's first call sets up ICU's
    // collator, about 7 ms of every command. __bundleCompareIds gives the same order.
    ['.sort((a, b) => a.id.localeCompare(b.id));', '.sort((a, b) => __bundleCompareIds(a.id, b.id));'],
  ],
  '@oclif/core/lib/util/fs.js': [
    // package.json files, manifests and the theme, read synchronously: through
    // fs/promises each read waited on the thread pool, and loading fs/promises
    // loaded readline and fs.watch with it. Same contents, same errors.
    ["const contents = await (0, promises_1.readFile)(path, 'utf8');", "const contents = (0, node_fs_1.readFileSync)(path, 'utf8');"],
  ],
  '@oclif/core/lib/util/os.js': [
    // The WSL probe: wsl-utils answers isWsl with is-wsl's probe, and loading it
    // also loaded child_process, dgram and fs/promises for its Windows helpers
    // (about 5 ms). is-wsl itself gives the same answer.
    ["return (await import('wsl-utils')).isWsl ? 'wsl' : (0, node_os_1.platform)();", "return (await import('is-wsl')).default ? 'wsl' : (0, node_os_1.platform)();"],
  ],
  '@oclif/core/lib/logger.js': [
    // oclif's debug output: while DEBUG is unset every namespace is off, and loading
    // debug (tty, util, supports-color) is skipped (__bundleDebug).
    ['const debug = (0, debug_1.default)(namespace);', 'const debug = __bundleDebug(() => debug_1.default, namespace);'],
  ],
  '@oclif/core/lib/util/find-root.js': [
    // A plugin's root: its package.json found as require.resolve would find the package
    // (__bundleInstalledPackage), without resolving its exports (Node's ES-module resolver).
    ['pkgPath = require.resolve(name, { paths: [root] });', 'pkgPath = __bundleInstalledPackage(name, root) ?? require.resolve(name, { paths: [root] });'],
  ],
  'better-sqlite3/lib/database.js': [
    // The addon found where bindings looks for it, from the package's directory: bindings
    // would take that from a stack trace, which in the bundle names the bundle.
    [
      "addon = DEFAULT_ADDON || (DEFAULT_ADDON = require('bindings')('better_sqlite3.node'));",
      "addon = DEFAULT_ADDON || (DEFAULT_ADDON = require('bindings')({ bindings: 'better_sqlite3.node', module_root: __bundlePackageDir('better-sqlite3') }));",
    ],
  ],
  '@oclif/core/lib/command.js': [
    // A command run by oclif's main gets the Config main loaded: Config.load of a Config
    // builds a new one from it (so that a plugin's command gets its own oclif's Config
    // class), which for this bundle's own class repeats the whole load (list: CPU 88 -> 82 ms).
    [
      'const config = await config_1.Config.load(opts || require.main?.filename || __dirname);',
      'const config = opts?.constructor === config_1.Config ? opts : await config_1.Config.load(opts || require.main?.filename || __dirname);',
    ],
  ],
  '@oclif/core/lib/config/plugin-loader.js': [
    // oclif.plugins matched against the dependencies: a plain package name matches only
    // itself, as minimatch would say, without loading minimatch (__bundleIsPackageName).
    [
      'patterns.some((w) => (0, minimatch_1.minimatch)(p, w))',
      'patterns.some((w) => (__bundleIsPackageName(w) ? p === w : (0, minimatch_1.minimatch)(p, w)))',
    ],
  ],
};
function patch(file, contents) {
  const nm = `${path.sep}node_modules${path.sep}`;
  const inModules = file.slice(file.lastIndexOf(nm) + nm.length).split(path.sep).join('/');
  for (const [from, to] of patches[inModules] ?? []) {
    if (!contents.includes(from)) throw new Error(`bundle: ${inModules} no longer has: ${from}`);
    contents = contents.replace(from, to);
    patched.add(inModules);
  }
  return contents;
}
const patched = new Set();
for (const file of Object.keys(patches)) {
  if (!existsSync(path.join(root, 'node_modules', file))) throw new Error(`bundle: no node_modules/${file} to patch`);
}

/**
 * Code that finds files from its own location must still find them:
 * - our modules' `import.meta.url` becomes the URL of the same module in dist/
 *   (daemon/cluster.ts starts dist/lib/daemon/worker.js, a process of its own);
 * - `__dirname`/`__filename` in node_modules (oclif reads its own package.json
 *   by it) become the module's own, found at run time where Node would find
 *   the package from the bundle, wherever npm installed it.
 */
const locations = {
  name: 'locations',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      const rel = path.relative(dist, args.path);
      if (!rel.startsWith('..') && contents.includes('import.meta.url')) {
        contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(`./${rel}`)}, __bundleUrl()).href`);
      }
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) contents = patch(args.path, contents);
      if (lazyPackages.some((dir) => args.path.includes(dir))) contents = lazyRequires(contents);
      const nm = args.path.lastIndexOf(`${path.sep}node_modules${path.sep}`);
      if (nm >= 0 && /\b__(dirname|filename)\b/.test(contents)) {
        const inPackage = args.path.slice(nm + `${path.sep}node_modules${path.sep}`.length).split(path.sep);
        const nameLength = inPackage[0].startsWith('@') ? 2 : 1;
        const name = inPackage.slice(0, nameLength).join('/');
        const file = inPackage.slice(nameLength).join('/');
        contents = `var __filename = __bundlePath.join(__bundlePackageDir(${JSON.stringify(name)}), ${JSON.stringify(file)}), __dirname = __bundlePath.dirname(__filename);\n${contents}`;
      }
      return { contents, loader: 'js' };
    });
  },
};

const { outputFiles } = await build({
  stdin: { contents: entry, resolveDir: dist, sourcefile: 'sessctl-entry.js', loader: 'js' },
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['ioredis', '@inquirer/prompts', '@oclif/plugin-*', 'typescript'],
  plugins: [locations],
  banner: { js: readFileSync(path.join(root, 'scripts/bundle-runtime.cjs'), 'utf8') },
  logLevel: 'warning',
  legalComments: 'none',
  // Smaller to read and hash at every start (1.2 MB -> 0.8 MB: about 2.5 ms of
  // loadBundle, docs/BENCHMARKS.md). Names are not mangled: stack traces and
  // the class names oclif and errors show stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  write: false,
});

/**
 * Dynamic import() (of better-sqlite3, @inquirer/prompts, oclif's ES-module
 * plugins) goes through __bundleImport, which bin/load-bundle.js passes in:
 * inside vm.Script, import() needs a callback that Node 20 drops from code
 * compiled from a code cache (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), and
 * that is experimental (USE_MAIN_CONTEXT_DEFAULT_LOADER warns).
 */
const unpatched = Object.keys(patches).filter((file) => !patched.has(file));
if (unpatched.length > 0) throw new Error(`bundle: not in the bundle, so not patched: ${unpatched.join(', ')}`);
const code = outputFiles[0].text.replaceAll('await import(', 'await __bundleImport(');
const left = code.match(/[^"\w]import\(/g);
if (left) throw new Error(`bundle: import() left outside __bundleImport: ${left.join(', ')}`);
/**
 * ASCII only, so bin/load-bundle.js reads the bundle as latin1, which is
 * about 3 ms faster than decoding UTF-8 (esbuild escapes strings, not the
 * characters of regular expressions). Inside strings and regular expressions
 * alike a character and its \u escape mean the same, unless the character
 * followed a backslash.
 */
const ascii = code.replace(/[^\x00-\x7f]/g, (c, at) => {
  if (code[at - 1] === '\\') throw new Error(`bundle: a non-ASCII character escaped by a backslash at ${at}`);
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
});
writeFileSync(outfile, ascii);

execFileSync(process.execPath, [path.join(root, "scripts/code-cache.mjs")], { stdio: "pipe" });
