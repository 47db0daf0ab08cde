import type { Command } from 'commander';
import { applySetting, DEFAULT_SETTINGS, isSettingKey, type SyncSettings } from '../../sync/settings';
import { CliError } from '../errors';
import { message, type CliContext } from '../context';
import { table } from '../output';

/** What each setting means and accepts (Record: a new setting cannot be forgotten here). */
export const SETTING_HELP: Record<keyof SyncSettings, string> = {
  timeZone: 'IANA time zone for course and enrollment dates, e.g. America/Chicago',
  notificationEmails: 'comma-separated addresses that get a report after every sync ("" for none)',
  orgBaseCourses: 'create a base course per org: true | false',
  teacherBaseCourses: 'create a base course per primary teacher and course: true | false',
  termBaseCourses: 'create a base course per teacher, course and term: true | false',
  unsharedCourses: 'managed courses missing from the file: nothing | delete',
  teacherRole: 'LMS role given to teachers',
  studentRole: 'LMS role given to students',
  administratorRole: 'LMS role given to enrolled administrators',
  proctorRole: 'LMS role given to proctors',
  unsharedEnrollments: 'managed enrollments missing from the file: nothing | inactive | withdrawn | delete',
  ignoreSisDates: 'ignore the begin and end dates of enrollments: true | false',
  unsharedUsers: 'managed users missing from the file: nothing | inactive | delete',
  safetyThresholdPercent: 'hold for review a sync removing more than this % of managed users, courses or enrollments (0-100)',
  autoCommit: 'apply syncs at once: true | false (false: every sync that would change something is held until approved)',
};

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
      const { loadSettings, saveSettings } = await import('../../db/settings-store');
      await cli.withDatabase(async (ds) => {
        const domain = await cli.requireDomain(ds, userspace);
        const current = await loadSettings(ds, domain.id);
        let next: SyncSettings;
        try {
          next = applySetting(current, key, value);
        } catch (err) {
          const hint = isSettingKey(key) ? ` (${key}: ${SETTING_HELP[key]})` : '';
          throw new CliError(`${message(err)}${hint}`);
        }
        if (!isSettingKey(key)) throw new CliError(`unknown setting "${key}"`);
        await saveSettings(ds, domain.id, next);
        (await cli.logger()).info('setting changed', { domain: userspace, key });
        cli.out(`${userspace}: ${key} ${formatSetting(current[key])} → ${formatSetting(next[key])}`);
      });
    }));
}
