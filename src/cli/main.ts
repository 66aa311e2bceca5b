#!/usr/bin/env node
/**
 * The `kinbase` command: export, import, pull, backup, restore and apps, on the deployment the
 * environment configures (the same variables as the server). Exit code 0 on success; 1 with one
 * plain line on stderr on failure.
 */
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { configFrom, kinbaseVersion, openDeployment, type Deployment } from './deployment';
import { CliError, createOutput, type Output } from './output';
import { exportDeployment } from './export.command';
import { importExport } from './import.command';
import { createApp, listApps, rotateSecret } from './apps.command';
import { pullApp } from './pull.command';
import { backupDeployment, restoreDeployment } from './backup.command';

const env = process.env;

async function withDeployment<T>(
  work: (deployment: Deployment) => Promise<T>,
  options: { snapshot?: boolean } = {},
): Promise<T> {
  const deployment = await openDeployment(env, options);
  try {
    return await work(deployment);
  } finally {
    await deployment.close();
  }
}

function outputOf(command: Command): Output {
  return createOutput({ json: command.optsWithGlobals().json === true });
}

export function buildProgram(): Command {
  const program = new Command('kinbase')
    .description(
      'Move, copy and back up the data of a kinbase deployment (configured by the same environment as the server)',
    )
    .version(kinbaseVersion())
    .option('--json', 'print one JSON object on stdout and no progress')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('export')
    .description('write a consistent snapshot of one app (or all) into a portable directory')
    .argument('<dir>', 'a new or empty directory')
    .option('--app <appKey>', 'only this app')
    .action(async (dir: string, opts: { app?: string }, command: Command) => {
      const out = outputOf(command);
      const result = await withDeployment((d) => exportDeployment(d, path.resolve(dir), { appKey: opts.app }, out), {
        snapshot: true,
      });
      out.result(
        { ...result },
        result.apps.map(
          (a) =>
            `exported ${a.appKey}: ${a.entities} documents, ${a.files} files (${a.fileBytes} bytes) into ${result.dir}`,
        ),
      );
    });

  program
    .command('import')
    .description('load an export into the configured deployment (an empty app unless --merge)')
    .argument('<dir>', 'a directory written by kinbase export')
    .option('--app <appKey>', 'only this app of the export')
    .option('--into <appKey>', 'import the one selected app under this app key')
    .option('--merge', 'keep the entities already there and report the conflicts')
    .action(async (dir: string, opts: { app?: string; into?: string; merge?: boolean }, command: Command) => {
      const out = outputOf(command);
      const result = await withDeployment((d) =>
        importExport(d, env, path.resolve(dir), { appKey: opts.app, into: opts.into, merge: opts.merge }, out),
      );
      out.result(
        { ...result },
        result.apps.map(
          (a) =>
            `imported ${a.from}${a.from === a.appKey ? '' : ` as ${a.appKey}`}: ${a.entities} documents, ${a.files} files${result.resumed ? ' (resumed)' : ''}${a.conflicts ? `; ${a.conflicts} conflicts kept as they were: ${a.conflictIds.join(', ')}` : ''}`,
        ),
      );
    });

  program
    .command('pull')
    .description('copy an app from a Kinvey-compatible REST API (Kinvey, or another kinbase) with master credentials')
    .argument('<url>', 'the API base URL, e.g. https://baas.kinvey.com')
    .requiredOption('--app-key <appKey>', 'the app to copy')
    .requiredOption('--master-secret <secret>', "the app's master secret")
    .option('--collections <names>', 'comma-separated collections (Kinvey cannot list them; kinbase can)')
    .option('--environment-file <file>', 'a kinvey-cli environment file: its collections are pulled')
    .option('--into <appKey>', 'store the app under this app key (default: the same)')
    .option('--app-secret <secret>', "the app's app secret, kept when pull creates the app in the data dir")
    .action(
      async (
        url: string,
        opts: {
          appKey: string;
          masterSecret: string;
          collections?: string;
          environmentFile?: string;
          into?: string;
          appSecret?: string;
        },
        command: Command,
      ) => {
        const out = outputOf(command);
        const result = await withDeployment((d) => pullApp(d, env, url, opts, out));
        out.result({ ...result }, result.summary);
      },
    );

  program
    .command('backup')
    .description('an online backup of the whole deployment (while the server runs) into a new directory')
    .argument('<dir>', 'a new or empty directory')
    .action(async (dir: string, _opts: unknown, command: Command) => {
      const out = outputOf(command);
      const result = await backupDeployment(configFrom(env), env, path.resolve(dir), out);
      out.result({ ...result }, result.summary);
    });

  program
    .command('restore')
    .description('restore a backup into the configured, empty data dir')
    .argument('<dir>', 'a directory written by kinbase backup')
    .action(async (dir: string, _opts: unknown, command: Command) => {
      const out = outputOf(command);
      const result = await restoreDeployment(configFrom(env), env, path.resolve(dir), out);
      out.result({ ...result }, result.summary);
    });

  const apps = program
    .command('apps')
    .description('manage the apps of the data dir (or KINBASE_APPS_FILE); the server reads them at start');
  apps
    .command('list')
    .description('list the apps')
    .action(async (_opts: unknown, command: Command) => {
      const list = await listApps(configFrom(env), env);
      outputOf(command).result(
        { apps: list },
        list.map((a) => `${a.appKey}  ${a.name}`),
      );
    });
  apps
    .command('create')
    .description('create an app with new secrets')
    .option('--name <name>', 'its name')
    .option('--app-key <appKey>', 'its app key (default: a new kid_...)')
    .action(async (opts: { name?: string; appKey?: string }, command: Command) => {
      const app = await createApp(configFrom(env), env, opts);
      outputOf(command).result({ app }, [
        `created app ${app.appKey} (restart the server to serve it)`,
        `  app secret:    ${app.appSecret}`,
        `  master secret: ${app.masterSecret}`,
      ]);
    });
  apps
    .command('rotate-secret')
    .description('replace the app secret (or, with --master, the master secret) of an app')
    .argument('<appKey>')
    .option('--master', 'rotate the master secret instead')
    .action(async (appKey: string, opts: { master?: boolean }, command: Command) => {
      const app = await rotateSecret(configFrom(env), env, appKey, opts.master ? 'master' : 'app');
      const [field, value] = app.masterSecret ? ['master secret', app.masterSecret] : ['app secret', app.appSecret];
      outputOf(command).result({ app }, [
        `new ${field} of ${appKey}: ${value} (takes effect when the server restarts)`,
      ]);
    });
  return program;
}

/** Runs the command line `argv` (process.argv shape); sets process.exitCode, never throws. */
export async function run(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 1;
      return; // commander has printed its message (or the help)
    }
    const message = err instanceof CliError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`kinbase: ${message.split('\n').join(' ')}\n`);
    if (env.KINBASE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void run(process.argv);
