import type { Command } from 'commander';
import type { DataSource } from 'typeorm';
import type { User } from '../../db/entities';
import { CliError } from '../errors';
import type { CliContext } from '../context';
import { table } from '../output';
import { readNewPassword } from '../password-input';

interface Login { userspace: string; username: string }

/** `userspace/username`; the username may itself hold slashes (the userspace cannot). */
export function parseLogin(login: string): Login {
  const slash = login.indexOf('/');
  if (slash <= 0 || slash === login.length - 1) throw new CliError(`"${login}" is not a login: expected userspace/username`);
  return { userspace: login.slice(0, slash), username: login.slice(slash + 1) };
}

const users = () => import('../../db/users');

/** Runs a users.ts helper; its input errors (duplicate, bad value) are usage errors. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  const { UserInputError } = await users();
  try {
    return await work();
  } catch (err) {
    if (err instanceof UserInputError) throw new CliError(err.message);
    throw err;
  }
}

function userJson(u: User, userspace: string, isAdministrator: (u: User) => boolean) {
  return {
    id: u.id, login: `${userspace}/${u.username}`, username: u.username, givenName: u.givenName, familyName: u.familyName,
    email: u.email, admin: isAdministrator(u), status: u.status, hasPassword: u.passwordHash !== null,
    externalId: u.externalId, managed: !!u.externalId?.startsWith('or-'),
  };
}

export function registerUser(program: Command, cli: CliContext): void {
  const user = program.command('user').description('LMS users (passwords are read from stdin, never from the command line)');
  const io = { stdin: process.stdin, stderr: process.stderr };

  async function requireUser(ds: DataSource, login: Login): Promise<User> {
    await cli.requireDomain(ds, login.userspace);
    const { findUser } = await users();
    const found = await findUser(ds, login.userspace, login.username);
    if (!found) throw new CliError(`unknown user "${login.userspace}/${login.username}"`);
    return found;
  }

  /** Reads and checks the password before the database is opened (a prompt must not hold a connection). */
  async function newPassword(): Promise<string> {
    const password = await readNewPassword(io);
    const { validatePassword } = await users();
    await guarded(async () => validatePassword(password));
    return password;
  }

  user
    .command('add')
    .description('create a user; with --password-stdin the password is read from stdin (a hidden prompt on a terminal)')
    .argument('<login>', 'userspace/username')
    .option('--given <name>', 'given (first) name', '')
    .option('--family <name>', 'family (last) name', '')
    .option('--email <address>', 'email address')
    .option('--admin', 'grant the Administrator role on the domain (may configure sync and upload files)')
    .option('--password-stdin', 'read the password from stdin; without it the user has no password login until `user passwd`')
    .action(cli.act(async (loginText: string, opts: { given: string; family: string; email?: string; admin?: boolean; passwordStdin?: boolean }) => {
      const login = parseLogin(loginText);
      const { createUser, findUser, validateUsername } = await users();
      const taken = `the username "${login.username}" is already taken in ${login.userspace}`;
      if (opts.passwordStdin && process.stdin.isTTY) {
        // fail on a typo before the prompt
        await guarded(async () => validateUsername(login.username));
        await cli.withDatabase(async (ds) => {
          await cli.requireDomain(ds, login.userspace);
          if (await findUser(ds, login.userspace, login.username)) throw new CliError(taken);
        });
      }
      const password = opts.passwordStdin ? await newPassword() : undefined;
      await cli.withDatabase(async (ds) => {
        const domain = await cli.requireDomain(ds, login.userspace);
        if (await findUser(ds, login.userspace, login.username)) throw new CliError(taken);
        const created = await guarded(() => createUser(ds, {
          domainId: domain.id, username: login.username, givenName: opts.given, familyName: opts.family, email: opts.email ?? null,
          admin: !!opts.admin, password,
        }));
        (await cli.logger()).info('user created', { userId: created.id, domain: domain.userspace, admin: !!opts.admin });
        cli.out(`created user ${login.userspace}/${login.username} (id ${created.id})${opts.admin ? ' with the Administrator role' : ''}` +
          `${password === undefined ? '; no password yet (set one with `rosterdrop user passwd`)' : ''}`);
      });
    }));

  user
    .command('passwd')
    .description('set a user\'s password, read from stdin (a hidden prompt on a terminal)')
    .argument('<login>', 'userspace/username')
    .option('--password-stdin', 'read the password from stdin (the default; accepted for symmetry with `user add`)')
    .action(cli.act(async (loginText: string) => {
      const login = parseLogin(loginText);
      // on a terminal, look the user up first so that a typo fails before the prompt
      if (process.stdin.isTTY) await cli.withDatabase(async (ds) => { await requireUser(ds, login); });
      const password = await newPassword();
      await cli.withDatabase(async (ds) => {
        const target = await requireUser(ds, login);
        const { setPassword } = await users();
        await guarded(() => setPassword(ds, target.id, password));
        (await cli.logger()).info('password set', { userId: target.id });
        cli.out(`password set for ${login.userspace}/${login.username}`);
      });
    }));

  for (const [verb, admin] of [['grant-admin', true], ['revoke-admin', false]] as const) {
    user
      .command(verb)
      .description(admin ? 'grant the Administrator role on the user\'s domain' : 'revoke the Administrator role')
      .argument('<login>', 'userspace/username')
      .action(cli.act(async (loginText: string) => {
        const login = parseLogin(loginText);
        await cli.withDatabase(async (ds) => {
          const target = await requireUser(ds, login);
          const { setAdministrator } = await users();
          const changed = await guarded(() => setAdministrator(ds, target.id, admin));
          const who = `${login.userspace}/${login.username}`;
          cli.out(changed ? `${who} ${admin ? 'is now an Administrator' : 'is no longer an Administrator'}`
            : `${who} ${admin ? 'already is an Administrator' : 'is not an Administrator'}; nothing changed`);
        });
      }));
  }

  user
    .command('list')
    .description('list a domain\'s users')
    .argument('<userspace>')
    .option('--admins', 'only Administrators')
    .option('--json', 'print one JSON object')
    .action(cli.act(async (userspace: string, opts: { admins?: boolean; json?: boolean }) => {
      await cli.withDatabase(async (ds) => {
        const domain = await cli.requireDomain(ds, userspace);
        const { isAdministrator, listUsers } = await users();
        const list = (await listUsers(ds, domain.id, { adminsOnly: !!opts.admins })).map((u) => userJson(u, userspace, isAdministrator));
        if (opts.json) { cli.json({ domain: userspace, users: list }); return; }
        if (!list.length) { cli.out(`no ${opts.admins ? 'Administrators' : 'users'} in ${userspace}`); return; }
        cli.out(table(['id', 'username', 'name', 'email', 'admin', 'status', 'password', 'external id'],
          list.map((u) => [u.id, u.username, `${u.givenName} ${u.familyName}`.trim(), u.email, u.admin ? 'yes' : '', u.status,
            u.hasPassword ? 'set' : 'none', u.externalId]), [0]));
      });
    }));
}
