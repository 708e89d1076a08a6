/**
 * The parts of @oclif/core the commands use, loaded with require.
 *
 * @oclif/core is CommonJS. Imported from ESM, each of its modules is also read
 * and lexed again for its export names (Node's CommonJS-to-ESM translation),
 * which cost `sessctl get --in FILE` about 20 ms of a 300 ms start-up
 * (bench/startup). Required, it is loaded once, as oclif loads it itself.
 * Commands take Command, Flags and Args from here, not from '@oclif/core'.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const { Command } = require('@oclif/core/command') as typeof import('@oclif/core/command');
export const Flags = require('@oclif/core/flags') as typeof import('@oclif/core/flags');
export const Args = require('@oclif/core/args') as typeof import('@oclif/core/args');
