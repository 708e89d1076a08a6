/**
 * oclif's command_not_found hook (package.json oclif.hooks): `sessctl lst`
 * says "did you mean list?" in sessctl's own two lines and exits 2, instead of
 * oclif's " ›   Error: command lst not found".
 */
import type { Hook } from '@oclif/core';
import { describeUnknownCommand, usageText } from './usage.js';

const hook: Hook<'command_not_found'> = async function (options) {
  const commands = options.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  const usage = describeUnknownCommand(options.id, commands);
  process.stderr.write(usageText(usage));
  this.exit(usage.exit);
};

export default hook;
