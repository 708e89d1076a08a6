/**
 * scripts/bundle-runtime.cjs, the helpers at the start of dist/sessctl.cjs,
 * run in a context of their own with the environment each test gives: the
 * bundle's stand-ins for oclif's code must do what that code did.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

const SOURCE = readFileSync(new URL('../../scripts/bundle-runtime.cjs', import.meta.url), 'utf8');

/** The runtime's declarations, run as the bundle would under `env`; localeCompare counts its calls. */
function runtime(env: Record<string, string>) {
  const context = vm.createContext({ require: createRequire(import.meta.url), __filename: '/opt/sessctl/dist/sessctl.cjs', process: { env } });
  const calls = vm.runInContext(
    'const calls = { n: 0 }; const localeCompare = String.prototype.localeCompare; String.prototype.localeCompare = function (b) { calls.n++; return localeCompare.call(this, b); }; calls',
    context,
  ) as { n: number };
  const helpers = vm.runInContext(`${SOURCE}\n;({ __bundleCompareIds })`, context) as {
    __bundleCompareIds: (a: string, b: string) => number;
  };
  return { compare: helpers.__bundleCompareIds, calls };
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
