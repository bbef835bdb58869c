#!/usr/bin/env node
/**
 * The `attnkit` command line.
 *
 *   attnkit init <data file> --target <column> [--out config.yaml] [--task t] [--force]   a starter config typed from the data
 *   attnkit train <config.yaml|json> [--set key=value …] [--out dir] [--quiet] [--json]
 *   attnkit train --resume <run>            continue a run from its last checkpoint
 *   attnkit eval <run> [--data file] [--strict]  test metrics (the run's test split, or a labelled file)
 *   attnkit predict <run> <input> [--out f] [--strict] [--encoding e]  predictions as JSON lines
 *   attnkit inspect <run> [<run2>] [--port n] [--export dir]  the live attention viewer on http://127.0.0.1 (or a static folder)
 *   attnkit export <run> <model.onnx>       the run's fusion model as ONNX (+ model.attnkit.json) [--verify]
 *   attnkit export <run> <dir> --format pytorch   the run as a PyTorch project (model.py, train.py for torchrun/DDP)
 *   attnkit encode <run> <data|run:train> <out.safetensors> [--shards N]   records as the tensors model.py takes
 *   attnkit import <dir|file.safetensors> <run>   PyTorch-trained weights back into the run
 *   attnkit experiment <name|all> [--quick] a study of the reproduction suite → docs/EXPERIMENTS.md
 *   attnkit bench [--quick …]               the benchmark (in a clone: bench/run.ts)
 *   attnkit datasets                        the built-in dataset adapters
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage or config error.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { initBackend } from '../backend/native/index.js';
import { trainCommand, evalCommand, predictCommand, datasetsCommand, inspectCommand, benchCommand, experimentCommand, exportCommand, encodeCommand, importCommand } from './commands.js';
import { EXPERIMENTS } from '../experiments/index.js';
import { initCommand, INIT_SAMPLE_ROWS } from './init.js';
import { ATTNKIT_VERSION } from './viewerFiles.js';

/** --encoding for commands that read a data file (default: the run config's data.encoding, else UTF-8). */
function encodingOption(dflt = "the run's data.encoding, else utf-8"): Option {
  return new Option('--encoding <name>', `the data file's text encoding (default: ${dflt})`).choices(['utf-8', 'latin1']);
}

export async function main(argv: string[]): Promise<number> {
  await initBackend();
  // `attnkit predict … | head` closes the pipe early: that is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });
  const program = new Command('attnkit')
    .description('Build, train and inspect attention models')
    .version(ATTNKIT_VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const collect = (v: string, prev: string[]): string[] => [...prev, v];
  let code = 0;
  program.command('init <data>').description('write a starter config for a CSV / TSV / JSONL / JSON file: each column typed from its contents, with a comment saying why')
    .requiredOption('--target <column>', 'the column to predict')
    .option('--out <file>', 'the config to write (default <data name>.yaml beside the data)')
    .addOption(new Option('--task <task>', 'the task (default: from the target\'s values)').choices(['binary', 'multiclass', 'regression']))
    .option('--force', 'overwrite an existing config')
    .option('--sample <rows>', `rows read to type the columns (default ${INIT_SAMPLE_ROWS})`)
    .option('--json', 'print the result as JSON')
    .addOption(encodingOption('utf-8; latin1 is also written into the config'))
    .action(async (dataPath: string, o) => {
      const sample = o.sample === undefined ? undefined : Number(o.sample);
      if (sample !== undefined && !(Number.isInteger(sample) && sample >= 1)) throw new ConfigError(`init: --sample must be a positive integer, got '${o.sample}'`);
      code = await initCommand(dataPath, { ...o, sample });
    });
  program.command('train [config]').description('train the model a config file describes (or continue one with --resume)')
    .option('--set <key=value>', 'override a config value (repeatable), e.g. --set train.epochs=5', collect, [])
    .option('--out <dir>', 'run directory (default runs/<name>-<time>)')
    .option('--resume <run>', 'continue the run in this directory from its last checkpoint')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .action(async (config: string | undefined, o) => { code = await trainCommand(config, o); });
  program.command('eval <run>').description("test metrics of a run's best model")
    .option('--data <file>', 'evaluate on this labelled file instead of the run\'s test split')
    .option('--strict', 'with --data: a model field absent from every row, or a column the model does not know, is an error (exit 2), not a warning')
    .option('--json', 'print JSON')
    .addOption(encodingOption())
    .action(async (run: string, o) => { code = await evalCommand(run, o); });
  program.command('predict <run> <input>').description('predict every record of a CSV / TSV / JSONL / JSON file')
    .option('--out <file>', 'write JSON lines here instead of stdout')
    .option('--strict', 'a model field absent from every row, or a column the model does not know, is an error (exit 2), not a warning')
    .addOption(encodingOption())
    .action(async (run: string, input: string, o) => { code = await predictCommand(run, input, o); });
  program.command('inspect <runs...>').description('the live attention viewer (the model runs in the page) for a run, or two side by side, on http://127.0.0.1')
    .option('--port <n>', 'port (default 7801; 0 picks a free one)')
    .option('--host <address>', 'interface to bind (default 127.0.0.1, loopback only)')
    .option('--export <dir>', 'write the viewer as a self-contained static folder instead of serving it')
    .action(async (runs: string[], o) => { code = await inspectCommand(runs, o); });
  program.command('export <run> <out>').description("the run's best fusion model as an ONNX graph (out.onnx, with the preprocessing in out.attnkit.json), or with --format pytorch the run as a PyTorch project in the folder out")
    .addOption(new Option('--format <format>', 'onnx (default) or pytorch (model.py, model.safetensors, train.py for torchrun/DDP)').choices(['onnx', 'pytorch']).default('onnx'))
    .option('--verify', 'onnx: run the graph in onnxruntime-node on the test rows and compare with attnkit')
    .option('--json', 'print the result as JSON')
    .action(async (run: string, outPath: string, o) => { code = await exportCommand(run, outPath, o); });
  program.command('encode <run> <data> <out>').description("encode a data file (or run:train, run:valid, run:test: the run's own split) with the run's preprocessing into the tensors the exported model.py takes (safetensors)")
    .option('--shards <n>', 'write n files out-00000-of-0000n.safetensors … (for DDP ranks)', '1')
    .option('--chunk <rows>', 'records encoded at a time (bounds memory)', '4096')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .addOption(encodingOption())
    .action(async (run: string, data: string, outPath: string, o) => { code = await encodeCommand(run, data, outPath, o); });
  program.command('import <weights> <run>').description("PyTorch-trained weights (a folder's model.safetensors, or a .safetensors file, in model.py's names) into a run as its best weights")
    .option('--json', 'print the result as JSON')
    .action(async (weights: string, run: string, o) => { code = await importCommand(weights, run, o); });
  program.command('experiment <name>').description(`run a study of the reproduction suite (${Object.keys(EXPERIMENTS).join(', ')}, or all)`)
    .option('--quick', 'the small configuration (prints only, unless --out)')
    .option('--seeds <list>', 'seeds, e.g. 0,1,2')
    .option('--out <file>', 'the Markdown document to update (default docs/EXPERIMENTS.md for full runs)')
    .option('--json', 'print the measurements as JSON')
    .action(async (name: string, o) => { code = await experimentCommand(name, o); });
  program.command('bench').description('the benchmark beside onnxruntime-node and TensorFlow.js (from a clone of the repository)')
    .allowUnknownOption().allowExcessArguments()
    .action(async (_o, cmd: Command) => { code = await benchCommand(cmd.args); });
  program.command('datasets').description('list the built-in dataset adapters').option('--json', 'print JSON')
    .action((o) => { code = datasetsCommand(o); });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const err = e as Error;
    process.stderr.write(`attnkit: ${err.name}: ${err.message}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

/** True when this file is the program (also through the npm bin symlink), not an import. */
function isEntry(): boolean {
  try { return Boolean(process.argv[1]) && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url); } catch { return false; }
}
if (isEntry()) main(process.argv.slice(2)).then((c) => { process.exitCode = c; });
