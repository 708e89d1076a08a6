/** The probe's verdict from connection records (pure): split keys that break resumption, and split keys that do not (a rotation under way). */
import { describe, expect, it } from 'vitest';
import { analyse } from '../../src/lib/probe/analyse.js';
import type { ConnectionRecord } from '../../src/lib/probe/types.js';

const KEY_A = 'a'.repeat(32);
const KEY_B = 'b'.repeat(32);

function conn(index: number, issued: string[], offered: { from: number; keyName: string } | null = null, resumed = false): ConnectionRecord {
  return {
    index,
    phase: 'tickets',
    target: 'lb:443',
    peer: '127.0.0.1:443',
    sni: null,
    protocol: 'TLSv1.2',
    cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    offered: offered === null ? null : { kind: 'ticket', from: offered.from, keyName: offered.keyName, madeFor: null },
    resumed,
    ticketKeyNames: issued,
    tickets: issued.map((keyName) => ({ keyName, format: 'openssl' as const, lifetimeHint: 300, length: 176 })),
    ticketReissued: resumed && issued.length > 0,
    sessionId: null,
    verified: true,
    why: null,
  };
}

const run = (records: ConnectionRecord[]) =>
  analyse({ targets: ['lb:443'], startedAt: '2026-12-01T00:00:00Z', records, matrix: [], crossName: [], ring: undefined, now: 0, reuseAfter: null, sessionIdsRefused: [], tls: '1.2' });

describe('analyse', () => {
  it('two key groups and a refused offer: broken, the split named', () => {
    const report = run([conn(0, [KEY_A]), conn(1, [KEY_B]), conn(2, [KEY_B], { from: 0, keyName: KEY_A }, false), conn(3, [], { from: 0, keyName: KEY_A }, true)]);
    expect(report.verdict).toBe('broken');
    expect(report.message).toBe('the backends of lb:443 encrypt tickets under 2 different keys (aaaaaaaa… on 1 connection, bbbbbbbb… on 2 connections): a client resumes only where its ticket was issued (1 of 2 ticket offers resumed)');
    expect(report.keyGroups.map((g) => [g.keyName, g.connections, g.offered, g.resumed])).toEqual([[KEY_A, 1, 2, 1], [KEY_B, 2, 0, 0]]);
  });

  it('two key groups whose tickets resume everywhere (a rotation under way): resumes, the split a fact', () => {
    const report = run([conn(0, [KEY_A]), conn(1, [KEY_B]), conn(2, [], { from: 0, keyName: KEY_A }, true), conn(3, [], { from: 1, keyName: KEY_B }, true)]);
    expect(report.verdict).toBe('resumes');
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'split-ticket-keys', breaks: false }));
  });

  it('one group, nothing resumes: broken; nothing issued: cannot tell', () => {
    expect(run([conn(0, [KEY_A]), conn(1, [KEY_A], { from: 0, keyName: KEY_A }, false)]).message).toBe('lb:443 issues tickets but resumed none of the 1 offered');
    const none = run([conn(0, [])]);
    expect(none.verdict).toBe('cannot-tell');
    expect(none.message).toBe('lb:443 issued neither tickets nor session IDs: there is nothing to resume with');
  });
});
