/**
 * A domain's sync settings as the web page, the API and the CLI read and change them: one
 * validation (src/sync/settings.ts SETTING_PARSERS, the same as `settings set`), all-or-nothing
 * saves in one transaction, and one settings_change row per setting that changed (who, through what).
 */
import type { DataSource } from 'typeorm';
import { SettingsChange, SyncSettingsRow } from '../db/entities';
import { loadSettings } from '../db/settings-store';
import { isSettingKey, SETTING_KINDS, SETTING_PARSERS, type SettingKind, type SyncSettings } from '../sync/settings';
import { SETTING_HELP, SETTING_LABELS, type SettingKey } from './setting-labels';

export type ChangeVia = 'web' | 'api' | 'cli';

export interface SettingView {
  key: SettingKey;
  label: string;
  description: string;
  kind: SettingKind;
  value: SyncSettings[SettingKey];
}

/** The settings in display order, each with its words, kind and current value. */
export function describeSettings(settings: SyncSettings): SettingView[] {
  return (Object.keys(SETTING_KINDS) as SettingKey[]).map((key) => ({
    key, label: SETTING_LABELS[key], description: SETTING_HELP[key], kind: SETTING_KINDS[key], value: settings[key],
  }));
}

export async function readSettings(ds: DataSource, domainId: number): Promise<{ settings: SyncSettings; definitions: SettingView[] }> {
  const settings = await loadSettings(ds, domainId);
  return { settings, definitions: describeSettings(settings) };
}

export interface FieldError { field: string; message: string }

/** A change refused before anything was saved: every bad field, each with the rule it broke. */
export class SettingsValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'SettingsValidationError';
  }
  get field(): string { return this.errors[0].field; }
}

/** A patch value as the text `settings set` parses: JSON booleans, numbers and lists are accepted as such. */
function rawOf(key: SettingKey, value: unknown): string | null {
  if (typeof value === 'string') return value;
  const kind = SETTING_KINDS[key].kind;
  if (kind === 'boolean' && typeof value === 'boolean') return String(value);
  if (kind === 'integer' && typeof value === 'number') return String(value);
  if (kind === 'emails' && Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    if (value.some((v) => v.includes(','))) return null;
    return value.join(',');
  }
  return null;
}

const EXPECTED: Record<SettingKind['kind'], string> = {
  enum: 'a string', boolean: 'true or false', integer: 'a whole number', emails: 'a list of addresses or a comma-separated string', timeZone: 'a string', text: 'a string',
};

/** Validates every field of the patch (unknown names included); returns the settings it makes, or throws with all the bad fields. */
export function validatePatch(current: SyncSettings, patch: Readonly<Record<string, unknown>>): { next: SyncSettings; keys: SettingKey[] } {
  const errors: FieldError[] = [];
  const next: SyncSettings = { ...current, notificationEmails: [...current.notificationEmails] };
  const keys: SettingKey[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (!isSettingKey(key)) {
      errors.push({ field: key, message: `unknown setting "${key}"; known: ${Object.keys(SETTING_PARSERS).join(', ')}` });
      continue;
    }
    const raw = rawOf(key, value);
    if (raw === null) {
      errors.push({ field: key, message: `${key} must be ${EXPECTED[SETTING_KINDS[key].kind]}` });
      continue;
    }
    try {
      (next as unknown as Record<string, unknown>)[key] = SETTING_PARSERS[key](raw);
      keys.push(key);
    } catch (err) {
      errors.push({ field: key, message: `${key} ${(err as Error).message}` });
    }
  }
  if (errors.length) throw new SettingsValidationError(errors);
  return { next, keys };
}

export interface SettingsChangeResult {
  before: SyncSettings;
  settings: SyncSettings;
  /** the settings whose value changed (one settings_change row each) */
  changed: SettingKey[];
}

/**
 * Validates the whole patch first (a bad field saves nothing), then saves the settings and one
 * audit row per changed setting in one transaction. An unchanged value writes nothing.
 */
export async function changeSettings(ds: DataSource, domainId: number, patch: Readonly<Record<string, unknown>>, actor: string, via: ChangeVia): Promise<SettingsChangeResult> {
  return ds.transaction(async (m) => {
    const before = await loadSettings(m, domainId);
    const { next, keys } = validatePatch(before, patch);
    const changed = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(next[k]));
    if (!changed.length) return { before, settings: before, changed };
    await m.getRepository(SyncSettingsRow).save({ domainId, ...next, notificationEmails: JSON.stringify(next.notificationEmails) });
    await m.getRepository(SettingsChange).insert(changed.map((setting) => ({
      domainId, changedBy: actor, via, setting, oldValue: JSON.stringify(before[setting]), newValue: JSON.stringify(next[setting]),
    })));
    return { before, settings: next, changed };
  });
}

/** A domain's last setting changes, newest first. */
export async function settingsHistory(ds: DataSource, domainId: number, limit = 50): Promise<SettingsChange[]> {
  return ds.getRepository(SettingsChange).find({ where: { domainId }, order: { id: 'DESC' }, take: Math.min(Math.max(limit, 1), 500) });
}

/** A stored value (JSON text) as people read it. */
export function formatSettingValue(value: unknown): string {
  if (Array.isArray(value)) return value.length ? value.join(', ') : '(none)';
  return String(value);
}

export function formatStoredValue(json: string): string {
  try { return formatSettingValue(JSON.parse(json)); } catch { return json; }
}
