import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * A run's report (result files, mail, archive) happened after its commit and only in memory: a
 * crash in between lost it for good. A run now records, in the same commit, that its report is
 * still to be made and its mail still to be sent; the daemon finishes both for every run that
 * still says so (src/queue/report-state.ts). Runs from before this migration were reported.
 */
export class DurableReports1796169600000 implements MigrationInterface {
  name = 'DurableReports1796169600000';

  async up(q: QueryRunner): Promise<void> {
    const instant = q.connection.options.type === 'postgres' ? 'timestamptz' : 'datetime';
    await q.addColumns('sync_run', [
      new TableColumn({ name: 'report_pending', type: 'boolean', default: false }),
      new TableColumn({ name: 'mail_pending', type: 'boolean', default: false }),
      new TableColumn({ name: 'mail_claimed_at', type: instant, isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const c of ['mail_claimed_at', 'mail_pending', 'report_pending']) await q.dropColumn('sync_run', c);
  }
}
