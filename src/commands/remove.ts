import { Args, Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { confirmDestructive } from '../lib/cli/confirm.js';
import { EXIT, usageError } from '../lib/errors.js';
import { parseIdPattern, resolveIds } from '../lib/store/id.js';
import { removeSessions, type RemoveResult } from '../lib/store/remove.js';
import { nowSeconds } from '../lib/store/types.js';

export default class Remove extends BaseCommand {
  static summary = 'Remove sessions from a store.';
  static description = `Removes the sessions named by id, plus those selected by --sni and --expired.
Removing more than one session asks for confirmation on a terminal and needs --yes otherwise.
A named id that is not in the store is reported and the exit code is 3 (the others are still removed).
${EXIT_CODES_HELP}`;

  static examples = [
    '<%= config.bin %> remove f59379243e20337d14a6faa62341acd7f42016e59f6d940a45b9defe2f4187c8',
    '<%= config.bin %> remove --sni old.example.com --dry-run',
    '<%= config.bin %> remove --expired --yes',
  ];

  static strict = false;
  static args = {
    id: Args.string({ description: 'session id (hex): whole, a unique prefix, or shortened as list shows it; several allowed', ignoreStdin: true }),
  };

  static flags = {
    ...BaseCommand.storeFlags,
    sni: Flags.string({ description: 'also remove every session for this SNI host name', helpValue: 'HOST' }),
    expired: Flags.boolean({ description: 'also remove every expired session' }),
    'dry-run': Flags.boolean({ description: 'show what would be removed, remove nothing' }),
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
  };

  async run(): Promise<RemoveResult> {
    const { argv, flags } = await this.parse(Remove);
    const typed = argv as string[];
    for (const id of typed) parseIdPattern(id);
    if (typed.length === 0 && flags.sni === undefined && !flags.expired) throw usageError('name the sessions to remove: ids, --sni HOST or --expired');
    const store = await this.openStore(flags);
    const { keys, missing } = await resolveIds(store, typed);
    const removal = await removeSessions(store, {
      ids: keys,
      ...(flags.sni === undefined ? {} : { sni: flags.sni }),
      expired: flags.expired,
      now: nowSeconds(),
      dryRun: flags['dry-run'],
      confirm: (count) => confirmDestructive(`Remove ${count} sessions from ${store.url}?`, { yes: flags.yes, count }),
    });
    const result = { ...removal, missing: [...missing, ...removal.missing] };
    for (const key of result.removed) this.out(`${result.dryRun ? 'would remove' : 'removed'} ${key}`);
    const count = `${result.removed.length} session${result.removed.length === 1 ? '' : 's'}`;
    if (result.cancelled) this.out('nothing removed');
    else this.out(result.dryRun ? `${count} would be removed` : `${count} removed`);
    if (result.missing.length > 0) {
      // The others were removed (like rm): report the missing ones and exit 3, with the result still on stdout.
      process.stderr.write(`sessctl: no session ${result.missing.join(', ')} in ${store.url}\n`);
      process.exitCode = EXIT.NOT_FOUND;
    }
    return result;
  }
}
