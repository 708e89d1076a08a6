/**
 * The import rules of docs/ARCHITECTURE.md, checked on the source so they
 * stay true: imports run one way (commands -> lib areas -> store -> session
 * -> basics), nothing in src/lib imports src/commands, only src/commands and
 * src/lib/cli import src/lib/cli, and no file reaches itself through imports.
 * Imports are read with TypeScript's own pre-processor (static, dynamic and
 * type-only imports, and re-exports alike).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/env.js';

type Graph = Map<string, string[]>;

/** Every .ts file under `dir`, as a path relative to the repository (src/lib/store/types.ts). */
function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** The project files each file imports (relative specifiers only; packages and node: are not ours). */
function importGraph(files: string[]): Graph {
  const graph: Graph = new Map();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(path.join(ROOT, file), 'utf8'), true, true);
    graph.set(
      file,
      info.importedFiles
        .map((f) => f.fileName)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => path.posix.normalize(path.posix.join(path.posix.dirname(file), spec.replace(/\.js$/, '.ts')))),
    );
  }
  return graph;
}

/**
 * The layer of a file: 4 commands, 3 a lib area (cli, daemon, explain,
 * tickets, tls, ... and lib's own files such as config.ts), 2 store, 1
 * session, 0 basics (errors.ts, time.ts). A file may import its own layer or
 * below, never above.
 */
function layer(file: string): number {
  if (file.startsWith('src/commands/')) return 4;
  if (file.startsWith('src/lib/store/')) return 2;
  if (file.startsWith('src/lib/session/')) return 1;
  if (file === 'src/lib/errors.ts' || file === 'src/lib/time.ts') return 0;
  return 3;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = importGraph(sourceFiles('src'));
const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));

describe('imports of src/', () => {
  it('are read: every file is seen and every project import resolves to a file', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(edges.length).toBeGreaterThan(100);
    expect(edges.filter(({ to }) => !graph.has(to))).toEqual([]);
  });

  it('nothing in src/lib imports src/commands', () => {
    expect(edges.filter(({ from, to }) => from.startsWith('src/lib/') && to.startsWith('src/commands/'))).toEqual([]);
  });

  it('only src/commands and src/lib/cli import src/lib/cli', () => {
    const outside = edges.filter(
      ({ from, to }) => to.startsWith('src/lib/cli/') && !from.startsWith('src/commands/') && !from.startsWith('src/lib/cli/'),
    );
    expect(outside).toEqual([]);
  });

  it('run one way: commands -> lib areas -> store -> session -> basics', () => {
    expect(edges.filter(({ from, to }) => layer(to) > layer(from))).toEqual([]);
  });

  it('have no cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('the cycle finder finds a cycle and the layer rule an upward import (the checks can fail)', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['a']]]))).toEqual([['a']]);
    expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
    expect(layer('src/lib/store/daemon.ts')).toBeGreaterThan(layer('src/lib/session/codec.ts'));
    expect(layer('src/lib/daemon/server.ts')).toBeGreaterThan(layer('src/lib/store/daemon.ts'));
  });
});
