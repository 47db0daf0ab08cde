import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * The daemon's durable queue lives in sync_run: a queued run remembers where its upload came from,
 * where the file waits now, and who uploaded it, so a restart can resume it.
 */
export class UploadQueue1795478400000 implements MigrationInterface {
  name = 'UploadQueue1795478400000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('sync_run', [
      new TableColumn({ name: 'upload_path', type: 'text', isNullable: true }),
      new TableColumn({ name: 'queued_path', type: 'text', isNullable: true }),
      new TableColumn({ name: 'uploaded_by', type: 'varchar', length: '320', isNullable: true }),
      new TableColumn({ name: 'attempts', type: 'integer', default: 0 }),
    ]);
    await q.createIndex('sync_run', new TableIndex({ name: 'ix_sync_run_status', columnNames: ['status', 'id'] }));
    // One queued run per upload still in a drop folder: two daemons that see the same new file at
    // once cannot both queue it.
    await q.createIndex('sync_run', new TableIndex({
      name: 'uq_sync_run_pending_upload', columnNames: ['upload_path'], isUnique: true, where: 'queued_path IS NULL AND upload_path IS NOT NULL',
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('sync_run', 'uq_sync_run_pending_upload');
    await q.dropIndex('sync_run', 'ix_sync_run_status');
    for (const c of ['attempts', 'uploaded_by', 'queued_path', 'upload_path']) await q.dropColumn('sync_run', c);
  }
}
