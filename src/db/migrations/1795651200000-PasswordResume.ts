import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * New users' passwords are hashed after their sync commits, for hours after a large first sync. A
 * run now remembers what is left to hash and where its file is, so that hashing a stop or a crash
 * cut short resumes (see src/sync/password-resume.ts) instead of leaving accounts without a password.
 */
export class PasswordResume1795651200000 implements MigrationInterface {
  name = 'PasswordResume1795651200000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('sync_run', [
      new TableColumn({ name: 'passwords_pending', type: 'integer', default: 0 }),
      new TableColumn({ name: 'passwords_from_user_id', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'password_source', type: 'text', isNullable: true }),
      new TableColumn({ name: 'passwords_done_at', type: q.connection.options.type === 'postgres' ? 'timestamptz' : 'datetime', isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const c of ['passwords_done_at', 'password_source', 'passwords_from_user_id', 'passwords_pending']) await q.dropColumn('sync_run', c);
  }
}
