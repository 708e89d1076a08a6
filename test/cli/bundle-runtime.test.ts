/**
 * scripts/bundle-runtime.cjs, the helpers at the start of dist/sessctl.cjs,
 * run in a context of their own with the environment each test gives: the
 * bundle's stand-ins for oclif's code must do what that code did.
 */
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import vm from 'node:vm';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { tempDir } from '../helpers/env.js';

/** The minimatch oclif's plugin loader uses (a dependency of @oclif/core, not of this package). */
const { minimatch } = createRequire(createRequire(import.meta.url).resolve('@oclif/core'))('minimatch') as typeof import('minimatch');

const SOURCE = readFileSync(new URL('../../scripts/bundle-runtime.cjs', import.meta.url), 'utf8');

/** The runtime's declarations, run as the bundle would under `env`; localeCompare counts its calls. */
function runtime(env: Record<string, string>) {
  const context = vm.createContext({ require: createRequire(import.meta.url), __filename: '/opt/sessctl/dist/sessctl.cjs', process: { env } });
  const calls = vm.runInContext(
    'const calls = { n: 0 }; const localeCompare = String.prototype.localeCompare; String.prototype.localeCompare = function (b) { calls.n++; return localeCompare.call(this, b); }; calls',
    context,
  ) as { n: number };
  const helpers = vm.runInContext(`${SOURCE}\n;({ __bundleCompareIds, __bundleIsPackageName, __bundleDebug, __bundleInstalledPackage })`, context) as {
    __bundleCompareIds: (a: string, b: string) => number;
    __bundleIsPackageName: (pattern: string) => boolean;
    __bundleDebug: (load: () => (namespace: string) => unknown, namespace: string) => ((...args: unknown[]) => void) & { enabled: boolean; namespace: string; extend: (ns: string) => { namespace: string } };
    __bundleInstalledPackage: (name: string, from: string) => string | undefined;
  };
  return {
    compare: helpers.__bundleCompareIds,
    isPackageName: helpers.__bundleIsPackageName,
    debug: helpers.__bundleDebug,
    installedPackage: helpers.__bundleInstalledPackage,
    calls,
  };
}

const id = fc.stringMatching(/^[a-z:-]{0,12}$/);
const collators = [new Intl.Collator('en-US'), new Intl.Collator('und')];

describe('__bundleCompareIds (oclif sorts each plugin\'s commands by id)', () => {
  for (const env of [{}, { LANG: 'C.UTF-8' }, { LANG: 'en_GB.UTF-8' }, { LC_ALL: 'POSIX', LANG: 'cs_CZ.UTF-8' }, { LC_MESSAGES: 'en_US.UTF-8', LANG: 'da_DK.UTF-8' }]) {
    test(`${JSON.stringify(env)}: the order ICU's collator gives, without calling it`, () => {
      const { compare, calls } = runtime(env);
      fc.assert(
        fc.property(id, id, (a, b) => {
          for (const c of collators) expect(Math.sign(compare(a, b))).toBe(Math.sign(c.compare(a, b)));
        }),
        { numRuns: 2000 },
      );
      expect(['get', 'autocomplete:script', 'autocomplete', 'rotate-keys', 'help'].sort(compare)).toEqual(['autocomplete', 'autocomplete:script', 'get', 'help', 'rotate-keys']);
      expect(calls.n).toBe(0);
    });
  }

  for (const env of [{ LANG: 'cs_CZ.UTF-8' }, { LC_ALL: 'da_DK.UTF-8', LANG: 'C' }, { LC_MESSAGES: 'lt_LT.UTF-8' }]) {
    test(`${JSON.stringify(env)}: a locale whose collation may differ goes through localeCompare`, () => {
      const { compare, calls } = runtime(env);
      expect(compare('check', 'hash')).toBe('check'.localeCompare('hash'));
      expect(calls.n).toBe(1);
    });
  }

  test('ids of other characters go through localeCompare', () => {
    const { compare, calls } = runtime({ LANG: 'C.UTF-8' });
    for (const [a, b] of [['Get', 'get'], ['a1', 'a:'], ['a_b', 'a-b'], ['é', 'f']]) expect(compare(a, b)).toBe(a.localeCompare(b));
    expect(calls.n).toBe(4);
  });
});

describe('__bundleIsPackageName (oclif matches oclif.plugins against the dependencies with minimatch)', () => {
  const { isPackageName } = runtime({});
  const part = fc.stringMatching(/^[a-zA-Z0-9._@!#*?[\]{}()+-]{1,8}$/);
  const name = fc.oneof(part, fc.tuple(part, part).map(([a, b]) => `${a}/${b}`), fc.tuple(part, part).map(([a, b]) => `@${a}/${b}`));

  test('a pattern it calls a package name matches a name exactly when minimatch says so', () => {
    fc.assert(
      fc.property(name, name, (pattern, dependency) => {
        if (isPackageName(pattern)) expect(dependency === pattern).toBe(minimatch(dependency, pattern));
      }),
      { numRuns: 20_000 },
    );
    for (const dependency of ['@oclif/plugin-help', '@oclif/plugin-autocomplete', 'chalk', '@oclif/core']) {
      expect(isPackageName('@oclif/plugin-help')).toBe(true);
      expect(dependency === '@oclif/plugin-help').toBe(minimatch(dependency, '@oclif/plugin-help'));
    }
  });

  test('globs, negations, comments and dot parts are left to minimatch', () => {
    for (const pattern of ['@oclif/plugin-*', '!@oclif/plugin-help', '#x', './x', '@oclif/../x', 'a/b/c', 'plugin-{a,b}', '@oclif/plugin-?', 'x+(a)']) {
      expect(isPackageName(pattern), pattern).toBe(false);
    }
  });
});

describe('__bundleDebug (oclif\'s logger makes a debug function per namespace)', () => {
  test('DEBUG unset or empty: a function that does nothing, and the debug package is not loaded', () => {
    for (const env of [{}, { DEBUG: '' }]) {
      const { debug } = runtime(env);
      let loads = 0;
      const d = debug(() => { loads++; throw new Error('loaded'); }, 'oclif');
      expect(d('x %s', 'y')).toBeUndefined();
      expect([d.enabled, d.namespace, d.extend('config').namespace]).toEqual([false, 'oclif', 'oclif:config']);
      expect(loads).toBe(0);
    }
  });

  test('DEBUG set: the debug package\'s own function, which writes what it is asked to', () => {
    const { debug } = runtime({ DEBUG: 'oclif*' });
    const made: string[] = [];
    const d = debug(() => (namespace: string) => { made.push(namespace); return 'real'; }, 'oclif:main');
    expect([d, made]).toEqual(['real', ['oclif:main']]);
  });

  test('through the built CLI: DEBUG=oclif* prints oclif\'s debug lines, without it none', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['bin/run.js', '--version'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    const on = run({ DEBUG: 'oclif*' });
    expect(on.stdout).toMatch(/^sessctl\//);
    expect(on.stderr).toMatch(/oclif:main process\.argv/);
    const off = run({ DEBUG: '' });
    expect([off.stdout.startsWith('sessctl/'), off.stderr]).toEqual([true, '']);
  });
});

describe('__bundleInstalledPackage (oclif finds each plugin\'s root from require.resolve)', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  const { installedPackage } = runtime({});

  test('the installed core plugins: where require.resolve finds them', () => {
    for (const name of ['@oclif/plugin-help', '@oclif/plugin-autocomplete']) {
      const found = installedPackage(name, process.cwd());
      expect(found).toBe(realpathSync(path.join(process.cwd(), 'node_modules', name, 'package.json')));
      expect(path.dirname(createRequire(path.join(process.cwd(), 'x.js')).resolve(name)).startsWith(path.dirname(found!))).toBe(true);
    }
  });

  test('the nearest node_modules first, links resolved, node_modules/node_modules skipped; none: undefined', () => {
    const root = realpathSync(tmp.dir);
    const pkg = (dir: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'package.json'), '{"name":"p","main":"index.js"}');
      writeFileSync(path.join(dir, 'index.js'), '');
    };
    pkg(path.join(root, 'node_modules/p'));
    pkg(path.join(root, 'a/node_modules/p'));
    pkg(path.join(root, 'real/p'));
    mkdirSync(path.join(root, 'b/c/node_modules'), { recursive: true });
    symlinkSync(path.join(root, 'real/p'), path.join(root, 'b/c/node_modules/p'));
    pkg(path.join(root, 'a/node_modules/node_modules/p'));
    for (const from of ['a', 'a/x/y', 'b', 'b/c', 'b/c/d', 'a/node_modules/q']) {
      const at = path.join(root, from);
      mkdirSync(at, { recursive: true });
      const expected = realpathSync(path.join(path.dirname(createRequire(import.meta.url).resolve('p', { paths: [at] })), 'package.json'));
      expect(installedPackage('p', at), from).toBe(expected);
    }
    expect(installedPackage('no-such-package-here', root)).toBeUndefined();
  });
});
