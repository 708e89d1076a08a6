/**
 * The parts of @oclif/core the commands use, by subpath: the package index
 * would also load help, ux and semver. The CLI runs as one bundled file
 * (scripts/bundle.mjs), with @oclif/core inside it.
 * Commands take Command, Flags and Args from here, not from '@oclif/core'.
 */
export { Command } from '@oclif/core/command';
export * as Flags from '@oclif/core/flags';
export * as Args from '@oclif/core/args';
