/**
 * The probe's figures in Prometheus' text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/), for
 * node_exporter's textfile collector: a cron job runs `sessctl probe
 * --prometheus /var/lib/node_exporter/textfile/sessctl.prom` and the file is
 * replaced atomically (the collector must never read half a file; its docs
 * say to write a temp file and rename it).
 */
import type { ProbeReport } from './types.js';

/** Escape a label value: backslash, double quote and line feed (exposition format). */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function prometheusText(report: ProbeReport, nowMs: number): string {
  const out: string[] = [];
  const metric = (name: string, help: string, type: 'gauge', samples: [string, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  const targets = `targets="${label(report.targets.join(','))}"`;
  const verdicts: ProbeReport['verdict'][] = ['resumes', 'broken', 'cannot-tell'];
  metric('sessctl_probe_verdict', 'The probe verdict: 1 for the verdict given, 0 for the others.', 'gauge',
    verdicts.map((v) => [`{${targets},verdict="${v}"}`, report.verdict === v ? 1 : 0]));
  metric('sessctl_probe_offered', 'Sessions offered, by kind (ticket, session-id).', 'gauge', [
    [`{${targets},kind="ticket"}`, report.ticket.offered],
    [`{${targets},kind="session-id"}`, report.sessionId.offered],
  ]);
  metric('sessctl_probe_resumed', 'Offered sessions the server resumed, by kind.', 'gauge', [
    [`{${targets},kind="ticket"}`, report.ticket.resumed],
    [`{${targets},kind="session-id"}`, report.sessionId.resumed],
  ]);
  metric('sessctl_probe_ticket_key_groups', 'Distinct ticket key names seen (more than 1: split keys).', 'gauge', [[`{${targets}}`, report.keyGroups.length]]);
  metric('sessctl_probe_ticket_key_connections', 'Connections issued a ticket under each key name, with its ring state.', 'gauge',
    report.keyGroups.map((g) => [`{${targets},key_name="${g.keyName}",ring="${g.ring ?? 'none'}"}`, g.connections]));
  metric('sessctl_probe_ticket_lifetime_hint_seconds', 'The longest ticket lifetime hint under each key name.', 'gauge',
    report.keyGroups.map((g) => [`{${targets},key_name="${g.keyName}"}`, Math.max(0, ...g.lifetimeHints)]));
  metric('sessctl_probe_findings', 'Findings by code (breaking or not).', 'gauge',
    [...new Set(report.findings.map((f) => f.code))].map((code) => [`{${targets},code="${code}"}`, report.findings.filter((f) => f.code === code).length]));
  metric('sessctl_probe_timestamp_seconds', 'When the probe finished (unix seconds).', 'gauge', [[`{${targets}}`, Math.floor(nowMs / 1000)]]);
  return `${out.join('\n')}\n`;
}
