import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex, type TableColumnOptions } from 'typeorm';

/**
 * The OneRoster courses and classes each domain's syncs sent (src/sync/apply/kept-records.ts), as
 * academic_session keeps the sessions: a delta file is then applied onto what earlier files sent,
 * and every class keeps its teacher and term base courses whatever the delta leaves out.
 */
export class KeptRosterRecords1795910400000 implements MigrationInterface {
  name = 'KeptRosterRecords1795910400000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(kept('oneroster_course', [
      { name: 'title', type: 'text' },
      { name: 'code', type: 'text', isNullable: true },
      { name: 'org_sid', type: 'varchar', length: '255' },
      { name: 'school_year_sid', type: 'varchar', length: '255', isNullable: true },
      { name: 'metadata', type: 'text', isNullable: true },
    ]));
    await q.createTable(kept('oneroster_class', [
      { name: 'title', type: 'text' },
      { name: 'course_sid', type: 'varchar', length: '255' },
      { name: 'school_sid', type: 'varchar', length: '255' },
      { name: 'first_term_sid', type: 'varchar', length: '255', isNullable: true },
      { name: 'term_sids', type: 'text' },
      { name: 'metadata', type: 'text', isNullable: true },
    ]));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('oneroster_class');
    await q.dropTable('oneroster_course');
  }
}

/** A kept-records table: unique per domain and external ID, gone with its domain. */
function kept(name: string, columns: TableColumnOptions[]): Table {
  return new Table({
    name,
    columns: [
      { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
      { name: 'domain_id', type: 'integer' },
      { name: 'external_id', type: 'varchar', length: '300' },
      ...columns,
    ],
    indices: [new TableIndex({ name: `uq_${name}`, columnNames: ['domain_id', 'external_id'], isUnique: true })],
    foreignKeys: [new TableForeignKey({ columnNames: ['domain_id'], referencedTableName: 'domain', referencedColumnNames: ['id'], onDelete: 'CASCADE' })],
  });
}
