import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

/**
 * The academic sessions each domain's syncs sent (src/sync/apply/sessions.ts): a delta file's class
 * may then name a term that an earlier file sent, with the term's title and dates still known.
 */
export class AcademicSessions1795824000000 implements MigrationInterface {
  name = 'AcademicSessions1795824000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'academic_session',
      columns: [
        { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
        { name: 'domain_id', type: 'integer' },
        { name: 'external_id', type: 'varchar', length: '300' },
        { name: 'title', type: 'text' },
        { name: 'type', type: 'varchar', length: '32' },
        { name: 'start_date', type: 'varchar', length: '10' },
        { name: 'end_date', type: 'varchar', length: '10' },
        { name: 'school_year', type: 'varchar', length: '16' },
        { name: 'parent_sid', type: 'varchar', length: '255', isNullable: true },
      ],
      indices: [new TableIndex({ name: 'uq_academic_session', columnNames: ['domain_id', 'external_id'], isUnique: true })],
      foreignKeys: [new TableForeignKey({ columnNames: ['domain_id'], referencedTableName: 'domain', referencedColumnNames: ['id'], onDelete: 'CASCADE' })],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('academic_session');
  }
}
