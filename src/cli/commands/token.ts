/**
 * `rosterdrop token create|list|revoke <login>`: API tokens of an administrator, for scripts on a
 * host without the web admin's page. `create` prints the token once, as its last line of output,
 * so a script can take it with `tail -1`.
 */
import type { Command } from 'commander';
import type { DataSource } from 'typeorm';
import type { User } from '../../db/entities';
import { CliError } from '../errors';
import type { CliContext } from '../context';
import { formatInstant, table } from '../output';
import { parseLogin } from './user';

const tokens = () => import('../../services/tokens');

export function registerToken(program: Command, cli: CliContext): void {
  const token = program.command('token').description('API tokens (Authorization: Bearer …) of an administrator');

  /** The administrator of the login; a refusal (unknown, inactive, not an administrator) is a usage error. */
  async function holder(ds: DataSource, loginText: string): Promise<User> {
    const login = parseLogin(loginText);
    const { tokenHolder, TokenInputError } = await tokens();
    try {
      return await tokenHolder(ds, login.userspace, login.username);
    } catch (err) {
      if (err instanceof TokenInputError) throw new CliError(err.message);
      throw err;
    }
  }

  token
    .command('create')
    .description('create a token; it is printed once, as the last line of output, and only its hash is kept')
    .argument('<login>', 'userspace/username of an active administrator')
    .option('--name <name>', 'what the token is for (shown in lists)', 'command line')
    .action(cli.act(async (loginText: string, opts: { name: string }) => {
      const { createToken, tokenName, TokenInputError } = await tokens();
      let name: string;
      try {
        name = tokenName(opts.name);
      } catch (err) {
        if (err instanceof TokenInputError) throw new CliError(`--name: ${err.message}`);
        throw err;
      }
      await cli.withDatabase(async (ds) => {
        const user = await holder(ds, loginText);
        const { token: secret, summary } = await createToken(ds, user.id, name);
        (await cli.logger()).info('api token created', { userId: user.id, tokenId: summary.id, prefix: summary.prefix });
        cli.out(`created API token ${summary.id} "${summary.name}" for ${loginText}; it is shown only now (store it, then use it as Authorization: Bearer <token>):`);
        cli.out(secret);
      });
    }));

  token
    .command('list')
    .description('an administrator\'s tokens (never the tokens themselves: their prefixes)')
    .argument('<login>', 'userspace/username')
    .option('--json', 'print one JSON object')
    .action(cli.act(async (loginText: string, opts: { json?: boolean }) => {
      const { listTokens } = await tokens();
      await cli.withDatabase(async (ds) => {
        const user = await holder(ds, loginText);
        const list = await listTokens(ds, user.id);
        if (opts.json) {
          cli.json({
            login: loginText,
            tokens: list.map((t) => ({
              id: t.id, name: t.name, prefix: t.prefix, createdAt: t.createdAt.toISOString(),
              lastUsedAt: t.lastUsedAt?.toISOString() ?? null, revokedAt: t.revokedAt?.toISOString() ?? null,
            })),
          });
          return;
        }
        if (!list.length) { cli.out(`${loginText} has no API tokens`); return; }
        cli.out(table(['id', 'name', 'prefix', 'created', 'last used', 'status'], list.map((t) => [
          t.id, t.name, `${t.prefix}…`, formatInstant(t.createdAt), t.lastUsedAt ? formatInstant(t.lastUsedAt) : 'never',
          t.revokedAt ? `revoked ${formatInstant(t.revokedAt)}` : 'live',
        ]), [0]));
      });
    }));

  token
    .command('revoke')
    .description('revoke a token at once: the API answers 401 to it from now on')
    .argument('<login>', 'userspace/username')
    .argument('<token>', 'the token\'s id or prefix (see `rosterdrop token list`)')
    .action(cli.act(async (loginText: string, which: string) => {
      const { revokeToken } = await tokens();
      await cli.withDatabase(async (ds) => {
        const user = await holder(ds, loginText);
        const revoked = await revokeToken(ds, user.id, which);
        if (!revoked) throw new CliError(`${loginText} has no live API token "${which}" (see \`rosterdrop token list ${loginText}\`)`);
        (await cli.logger()).info('api token revoked', { userId: user.id, tokenId: revoked.id });
        cli.out(`revoked API token ${revoked.id} "${revoked.name}" (${revoked.prefix}…) of ${loginText}`);
      });
    }));
}
