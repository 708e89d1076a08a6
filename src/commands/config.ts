import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { renderTable } from '../lib/cli/table.js';
import { loadConfig, resolveSetting, SETTINGS, type SettingName, type SettingSource } from '../lib/config.js';

export interface ConfigResult {
  file: string;
  fileExists: boolean;
  settings: { name: SettingName | 'token'; value: string | null; source: SettingSource; env: string; flag: string; description: string }[];
}

export default class Config extends BaseCommand {
  static summary = 'Show the settings in effect and where each came from.';
  static description = `Settings come from, in order: the command's flag, the environment, the config file, the default.
The config file is $SESSCTL_CONFIG, else $XDG_CONFIG_HOME/sessctl/config.json (~/.config/sessctl/config.json),
a JSON object such as {"store": "redis://10.0.0.5:6379", "tokenFile": "/etc/sessctl/token", "ca": "ca.pem", "ring": "/etc/sessctl/ring.json"};
relative paths in it are relative to its directory. This command shows what a command without flags would use.
${EXIT_CODES_HELP}`;

  static examples = ['<%= config.bin %> config', '<%= config.bin %> config --json'];

  async run(): Promise<ConfigResult> {
    await this.parse(Config);
    const loaded = loadConfig();
    const settings: ConfigResult['settings'] = (Object.keys(SETTINGS) as SettingName[]).map((name) => {
      const { value, source } = resolveSetting(name, undefined, loaded.values);
      return { name, value: value ?? null, source, env: SETTINGS[name].env, flag: SETTINGS[name].flag, description: SETTINGS[name].what };
    });
    if (process.env.SESSCTL_TOKEN?.trim()) {
      settings.push({ name: 'token', value: '(set, hidden)', source: 'env', env: 'SESSCTL_TOKEN', flag: '--token-file', description: "the daemon's bearer token itself" });
    }
    this.out(`Config file: ${loaded.path}${loaded.exists ? '' : ' (none)'}`);
    this.out(renderTable(['SETTING', 'VALUE', 'FROM'], settings.map((s) => [s.name, s.value ?? '-', s.source])));
    this.out('A flag beats the environment, which beats the config file.');
    this.out(`Environment: ${settings.map((s) => s.env).join(' ')}`);
    return { file: loaded.path, fileExists: loaded.exists, settings };
  }
}
