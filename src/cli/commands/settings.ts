import type { Command } from 'commander';
import os from 'node:os';
import { SETTING_HELP } from '../../services/setting-labels';
import { DEFAULT_SETTINGS, isSettingKey, type SyncSettings } from '../../sync/settings';
import { CliError } from '../errors';
import { message, type CliContext } from '../context';
import { table } from '../output';

// the words of each setting live with the settings service (the web page shows them too)
export { SETTING_HELP };

export function formatSetting(value: SyncSettings[keyof SyncSettings]): string {
  if (Array.isArray(value)) return value.length ? value.join(', ') : '(none)';
  return String(value);
}

export function registerSettings(program: Command, cli: CliContext): void {
  const settings = program.command('settings').description('a domain\'s sync settings');

  settings
    .command('show')
    .description('show a domain\'s sync settings')
    .argument('<userspace>')
    .option('--json', 'print one JSON object')
    .action(cli.act(async (userspace: string, opts: { json?: boolean }) => {
      const { loadSettings } = await import('../../db/settings-store');
      await cli.withDatabase(async (ds) => {
        const domain = await cli.requireDomain(ds, userspace);
        const current = await loadSettings(ds, domain.id);
        if (opts.json) { cli.json({ domain: userspace, settings: current }); return; }
        const keys = Object.keys(SETTING_HELP) as Array<keyof SyncSettings>;
        cli.out(table(['setting', 'value', '', 'meaning'], keys.map((k) => [
          k, formatSetting(current[k]), formatSetting(current[k]) === formatSetting(DEFAULT_SETTINGS[k]) ? '(default)' : '', SETTING_HELP[k],
        ])));
      });
    }));

  settings
    .command('set')
    .description('change one sync setting of a domain')
    .argument('<userspace>')
    .argument('<key>', 'the setting (see `rosterdrop settings show`)')
    .argument('<value>')
    .addHelpText('after', `\nSettings:\n${(Object.keys(SETTING_HELP) as Array<keyof SyncSettings>).map((k) => `  ${k.padEnd(24)}${SETTING_HELP[k]}`).join('\n')}`)
    .action(cli.act(async (userspace: string, key: string, value: string) => {
      const { changeSettings, SettingsValidationError } = await import('../../services/settings');
      await cli.withDatabase(async (ds) => {
        const domain = await cli.requireDomain(ds, userspace);
        // the same service as the web page and the API: same validation, one audit row per change
        let result;
        try {
          result = await changeSettings(ds, domain.id, { [key]: value }, cliActor(), 'cli');
        } catch (err) {
          if (!(err instanceof SettingsValidationError)) throw err;
          const hint = isSettingKey(key) ? ` (${key}: ${SETTING_HELP[key]})` : '';
          throw new CliError(`${message(err)}${hint}`);
        }
        if (!isSettingKey(key)) throw new CliError(`unknown setting "${key}"`);
        const current = result.before;
        const next = result.settings;
        (await cli.logger()).info('setting changed', { domain: userspace, key });
        cli.out(`${userspace}: ${key} ${formatSetting(current[key])} → ${formatSetting(next[key])}`);
      });
    }));
}

/** Who changed a setting from the shell: the OS user, as far as it is known. */
function cliActor(): string {
  try {
    return os.userInfo().username || 'cli';
  } catch {
    return 'cli';
  }
}
