import { Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { confirmDestructive } from '../lib/cli/confirm.js';
import { formatBytes, parseDuration, spaceLine } from '../lib/cli/format.js';
import { progress } from '../lib/cli/progress.js';
import { flushSessions, type FlushResult } from '../lib/store/flush.js';
import { nowSeconds } from '../lib/store/types.js';

export default class Flush extends BaseCommand {
  static summary = 'Remove expired sessions (SSL_CTX_flush_sessions).';
  static description = `Removes the sessions whose lifetime has passed; with --older-than also live sessions created longer ago than
DURATION (90s, 30m, 12h, 7d); with --all every session (asks for confirmation on a terminal, needs --yes otherwise).
Reports how many sessions were removed. The cache file gives the space they took back to the file system (files
made by an older sessctl only with --compact, which rewrites the whole file and makes it do so from then on).
${EXIT_CODES_HELP}`;

  static examples = ['<%= config.bin %> flush', '<%= config.bin %> flush --older-than 12h', '<%= config.bin %> flush --all --yes'];

  static flags = {
    ...BaseCommand.storeFlags,
    all: Flags.boolean({ description: 'remove every session, live or not' }),
    'older-than': Flags.string({ description: 'also remove sessions created longer ago than this', helpValue: 'DURATION', exclusive: ['all'] }),
    'dry-run': Flags.boolean({ description: 'count what would be removed, remove nothing' }),
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
    compact: Flags.boolean({ description: 'cache file: rewrite it to give all free space back (VACUUM)' }),
  };

  async run(): Promise<FlushResult> {
    const { flags } = await this.parse(Flush);
    const olderThan = flags['older-than'] === undefined ? undefined : parseDuration(flags['older-than'], '--older-than');
    const store = await this.openStore(flags);
    if (flags.all && !flags['dry-run']) {
      const count = await store.size();
      if (!(await confirmDestructive(`Remove all ${count} sessions from ${store.url}?`, { yes: flags.yes, count }))) {
        this.out('nothing removed');
        return { removed: 0, bytes: 0, remaining: count, dryRun: false };
      }
    }
    const bar = progress('flushing');
    const result = await flushSessions(store, {
      now: nowSeconds(),
      all: flags.all,
      ...(olderThan === undefined ? {} : { olderThan }),
      dryRun: flags['dry-run'],
      compact: flags.compact,
      onProgress: bar.update,
    });
    bar.done();
    const verb = result.dryRun ? 'would remove' : 'removed';
    this.out(`${verb} ${result.removed} session${result.removed === 1 ? '' : 's'} (${formatBytes(result.bytes)}); ${result.remaining} left in ${store.url}`);
    if (result.space !== undefined) this.out(spaceLine(result.space));
    return result;
  }
}
