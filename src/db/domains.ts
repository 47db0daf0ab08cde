import type { DataSource } from 'typeorm';
import { Domain } from './entities';

const USERSPACE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function validateUserspace(userspace: string): void {
  if (!USERSPACE.test(userspace)) {
    throw new Error(`userspace "${userspace}" must be 1-64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit`);
  }
}

export async function createDomain(
  ds: DataSource,
  input: { userspace: string; name: string; parentId?: number | null },
): Promise<Domain> {
  validateUserspace(input.userspace);
  const repo = ds.getRepository(Domain);
  if (await repo.existsBy({ userspace: input.userspace })) throw new Error(`domain "${input.userspace}" already exists`);
  if (input.parentId != null && !(await repo.existsBy({ id: input.parentId }))) throw new Error(`parent domain ${input.parentId} does not exist`);
  return repo.save(repo.create({ userspace: input.userspace, name: input.name, parentId: input.parentId ?? null, externalId: null, metadata: null }));
}

export async function findDomain(ds: DataSource, userspace: string): Promise<Domain | null> {
  return ds.getRepository(Domain).findOneBy({ userspace });
}
