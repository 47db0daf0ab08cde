import { MigrationInterface, QueryRunner, Table, TableColumn, TableForeignKey, TableIndex } from 'typeorm';

/**
 * Held syncs (prepare → review → commit): a sync over the safety threshold, or any sync of a domain
 * with autoCommit off, waits for an administrator instead of being refused. The run records the
 * decision (who, when, approved) and where its upload waits; held_removal lists what it would
 * remove; sync_settings gains auto_commit (true: as before).
 */
export class HeldRuns1796256000000 implements MigrationInterface {
  name = 'HeldRuns1796256000000';

  async up(q: QueryRunner): Promise<void> {
    const instant = q.connection.options.type === 'postgres' ? 'timestamptz' : 'datetime';
    await q.addColumns('sync_run', [
      new TableColumn({ name: 'approved', type: 'boolean', default: false }),
      new TableColumn({ name: 'decided_by', type: 'varchar', length: '320', isNullable: true }),
      new TableColumn({ name: 'decided_at', type: instant, isNullable: true }),
      new TableColumn({ name: 'held_path', type: 'text', isNullable: true }),
    ]);
    // SQLite keeps a boolean default as written: 1 is what the entity's `default: true` compares with
    await q.addColumn('sync_settings', new TableColumn({ name: 'auto_commit', type: 'boolean', default: q.connection.options.type === 'postgres' ? true : 1 }));
    await q.createTable(new Table({
      name: 'held_removal',
      columns: [
        { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
        { name: 'run_id', type: 'integer' },
        { name: 'entity', type: 'varchar', length: '16' },
        { name: 'external_id', type: 'text' },
        { name: 'name', type: 'text', default: "''" },
      ],
      indices: [new TableIndex({ name: 'ix_held_removal_run', columnNames: ['run_id', 'entity', 'external_id'] })],
      foreignKeys: [new TableForeignKey({ columnNames: ['run_id'], referencedTableName: 'sync_run', referencedColumnNames: ['id'], onDelete: 'CASCADE' })],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('held_removal');
    await q.dropColumn('sync_settings', 'auto_commit');
    for (const c of ['held_path', 'decided_at', 'decided_by', 'approved']) await q.dropColumn('sync_run', c);
  }
}
