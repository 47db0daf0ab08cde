import type { Command } from 'commander';
import { CliError } from '../errors';
import { message, type CliContext } from '../context';
import { formatInstant, table } from '../output';

export function registerDomain(program: Command, cli: CliContext): void {
  const domain = program.command('domain').description('LMS domains (tenants)');

  domain
    .command('add')
    .description('create a domain')
    .argument('<userspace>', 'login prefix: 1-64 of a-z 0-9 . _ -')
    .requiredOption('--name <name>', 'display name')
    .option('--parent <userspace>', 'the parent domain')
    .option('--json', 'print the new domain as JSON')
    .action(cli.act(async (userspace: string, opts: { name: string; parent?: string; json?: boolean }) => {
      const [{ createDomain, validateUserspace }, { Domain }] = await Promise.all([import('../../db/domains'), import('../../db/entities')]);
      try {
        validateUserspace(userspace);
      } catch (err) {
        throw new CliError(message(err));
      }
      const name = opts.name.trim();
      if (!name || name.length > 255) throw new CliError('--name must be 1-255 characters');
      await cli.withDatabase(async (ds) => {
        const parent = opts.parent ? await cli.requireDomain(ds, opts.parent) : null;
        if (await ds.getRepository(Domain).existsBy({ userspace })) throw new CliError(`domain "${userspace}" already exists`);
        const created = await createDomain(ds, { userspace, name, parentId: parent?.id ?? null });
        if (opts.json) cli.json({ id: created.id, userspace, name, parent: parent?.userspace ?? null });
        else cli.out(`created domain ${userspace} (id ${created.id})${parent ? ` under ${parent.userspace}` : ''}`);
      });
    }));

  domain
    .command('list')
    .description('list every domain')
    .option('--json', 'print one JSON object')
    .action(cli.act(async (opts: { json?: boolean }) => {
      const { Domain } = await import('../../db/entities');
      await cli.withDatabase(async (ds) => {
        const domains = await ds.getRepository(Domain).find({ order: { id: 'ASC' } });
        const byId = new Map(domains.map((d) => [d.id, d.userspace]));
        const rows = domains.map((d) => ({
          id: d.id, userspace: d.userspace, name: d.name, parent: d.parentId !== null ? byId.get(d.parentId) ?? null : null,
          externalId: d.externalId, managed: !!d.externalId?.startsWith('or-'), createdAt: d.createdAt.toISOString(),
        }));
        if (opts.json) { cli.json({ domains: rows }); return; }
        if (!rows.length) { cli.out('no domains yet: rosterdrop domain add <userspace> --name <name>'); return; }
        cli.out(table(['id', 'userspace', 'name', 'parent', 'external id', 'created'],
          rows.map((r) => [r.id, r.userspace, r.name, r.parent, r.externalId, formatInstant(new Date(r.createdAt))]), [0]));
      });
    }));
}
