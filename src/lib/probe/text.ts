/** The probe's report for people: the verdict line first (as explain prints it), then the evidence. */
import { shortKey } from './analyse.js';
import type { ConnectionRecord, ProbeReport } from './types.js';

const VERDICT_WORDS: Record<ProbeReport['verdict'], string> = { resumes: 'resumes', broken: 'broken', 'cannot-tell': 'cannot tell' };

/** Columns padded to their widest cell, two spaces apart. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

const yesNo = (b: boolean | null): string => (b === null ? '-' : b ? 'resumed' : 'full');

function offerText(r: ConnectionRecord): string {
  if (r.offered === null) return '-';
  const key = r.offered.keyName === null ? '' : ` ${shortKey(r.offered.keyName)}`;
  const name = r.offered.madeFor === null ? '' : ` (made for ${r.offered.madeFor})`;
  return `${r.offered.kind}${key} from #${r.offered.from}${name}`;
}

export function probeText(report: ProbeReport): string {
  const lines = [`${VERDICT_WORDS[report.verdict]}: ${report.message}`];
  const breaking = report.findings.filter((f) => f.breaks && f.message !== report.message);
  for (const f of breaking) lines.push(`  also: ${f.message}`);

  lines.push('', `Tickets     : ${report.ticket.resumed} of ${report.ticket.offered} offered resumed`);
  lines.push(`Session IDs : ${report.sessionId.resumed} of ${report.sessionId.offered} offered (no ticket extension) resumed`);
  if (report.keyGroups.length > 0) {
    lines.push('', 'Ticket keys:');
    const head = ['KEY NAME', 'CONNECTIONS', 'TARGETS', ...(report.ring === null ? [] : ['RING']), 'LIFETIME', 'RESUMED'];
    const rows = report.keyGroups.map((g) => [
      g.keyName,
      String(g.connections),
      g.targets.join(','),
      ...(report.ring === null ? [] : [g.notHeldBy ? `${g.ring}, not given to ${g.notHeldBy.join(',')}` : (g.ring ?? '-')]),
      g.lifetimeHints.map((h) => `${h} s`).join(','),
      `${g.resumed}/${g.offered}`,
    ]);
    lines.push(...columns([head, ...rows]));
  }
  if (report.matrix.length > 0) {
    lines.push('', 'Across targets (a session from FROM offered to TO):');
    lines.push(...columns([['FROM', 'TO', 'TICKET', 'SESSION ID'], ...report.matrix.map((m) => [m.from, m.to, yesNo(m.ticket), yesNo(m.sessionId)])]));
  }
  if (report.crossName.length > 0) {
    lines.push('', 'Across server names:');
    lines.push(...columns([['TARGET', 'MADE FOR', 'OFFERED AS', 'KIND', 'RESULT'], ...report.crossName.map((c) => [c.target, c.from, c.to, c.kind, yesNo(c.resumed)])]));
  }
  const facts = report.findings.filter((f) => !f.breaks);
  if (facts.length > 0) {
    lines.push('', 'Facts:');
    for (const f of facts) lines.push(`  - ${f.message}`);
  }
  lines.push('', 'Connections:');
  const rows = report.connections.map((r) => [
    `#${r.index}`,
    r.phase,
    r.target,
    r.peer,
    r.sni ?? '-',
    r.protocol,
    offerText(r),
    r.offered === null ? '-' : yesNo(r.resumed),
    r.tickets.length === 0 ? (r.sessionId ? `session ID ${r.sessionId.slice(0, 8)}…` : '-') : r.tickets.map((t) => (t.keyName === null ? `opaque(${t.length})` : shortKey(t.keyName))).join(' '),
  ]);
  lines.push(...columns([['#', 'PHASE', 'TARGET', 'PEER', 'SNI', 'PROTOCOL', 'OFFERED', 'RESULT', 'ISSUED'], ...rows]));
  for (const r of report.connections.filter((c) => c.why !== null)) lines.push(`  #${r.index} not resumed: ${r.why}`);
  return lines.join('\n');
}
