import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex, type TableColumnOptions } from 'typeorm';

/**
 * The web admin's tables: signed-in sessions, API tokens (both stored as hashes only) and the
 * history of settings changes (who changed what, when).
 */
export class WebAdmin1796342400000 implements MigrationInterface {
  name = 'WebAdmin1796342400000';

  async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.driver.options.type === 'postgres';
    const ts = pg ? 'timestamptz' : 'datetime';
    const now = pg ? 'now()' : "(strftime('%Y-%m-%d %H:%M:%f', 'now'))";
    const id: TableColumnOptions = { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' };
    const str = (name: string, length: number, extra: Partial<TableColumnOptions> = {}): TableColumnOptions =>
      ({ name, type: 'varchar', length: String(length), ...extra });
    const fk = (col: string, table: string) =>
      new TableForeignKey({ columnNames: [col], referencedTableName: table, referencedColumnNames: ['id'], onDelete: 'CASCADE' });
    await q.createTable(new Table({
      name: 'web_session',
      columns: [
        str('token_hash', 64, { isPrimary: true }),
        { name: 'user_id', type: 'integer' },
        str('login', 255), str('csrf_token', 64), str('ip', 64, { isNullable: true }),
        { name: 'created_at', type: ts, default: now },
        { name: 'last_seen_at', type: ts },
        { name: 'expires_at', type: ts },
      ],
      foreignKeys: [fk('user_id', 'lms_user')],
      indices: [new TableIndex({ name: 'ix_web_session_user', columnNames: ['user_id'] })],
    }));
    await q.createTable(new Table({
      name: 'api_token',
      columns: [
        id, { name: 'user_id', type: 'integer' },
        str('name', 100), str('token_hash', 64), str('prefix', 16),
        { name: 'created_at', type: ts, default: now },
        { name: 'last_used_at', type: ts, isNullable: true },
        { name: 'revoked_at', type: ts, isNullable: true },
      ],
      foreignKeys: [fk('user_id', 'lms_user')],
      indices: [
        new TableIndex({ name: 'uq_api_token_hash', columnNames: ['token_hash'], isUnique: true }),
        new TableIndex({ name: 'ix_api_token_user', columnNames: ['user_id'] }),
      ],
    }));
    await q.createTable(new Table({
      name: 'settings_change',
      columns: [
        id, { name: 'domain_id', type: 'integer' },
        str('changed_by', 255), str('via', 16), str('setting', 64),
        { name: 'old_value', type: 'text' }, { name: 'new_value', type: 'text' },
        { name: 'changed_at', type: ts, default: now },
      ],
      foreignKeys: [fk('domain_id', 'domain')],
      indices: [new TableIndex({ name: 'ix_settings_change_domain', columnNames: ['domain_id', 'id'] })],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['settings_change', 'api_token', 'web_session']) await q.dropTable(t);
  }
}
