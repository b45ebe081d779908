/**
 * npm run training -- <command>: the operator's training commands, through ops-api.
 *   start    --agent <id> [--from <ISO> --to <ISO>] [--reason <text>]
 *   list     [--agent <id>]
 *   promote  --agent <id> --run <runId> --reason <text>
 *   rollback --agent <id> --reason <text>
 * Against the local stack (npm start) it finds ops-api by itself; elsewhere set
 * SAPPHIRE_OPS_API_URL and OPS_TOKEN (an operator token of OPS_API_TOKENS).
 */
import { parseArgs } from 'node:util';
import { fail, opsApi } from './lib/ops-client.js';

const USAGE = `usage: npm run training -- start --agent <id> [--from <ISO> --to <ISO>] [--reason <text>]
       npm run training -- list [--agent <id>]
       npm run training -- promote --agent <id> --run <runId> --reason <text>
       npm run training -- rollback --agent <id> --reason <text>`;

interface Run {
  runId: string;
  agentId: string;
  status: string;
  jobState?: string;
  jobName?: string;
  reason?: string;
  dataset?: { rows: number; train: string; validation: string; manifest: string };
  candidateMetric?: { name: string; value: number };
  deployedMetric?: { name: string; value: number };
  window: { from: string; to: string };
  updatedAt: string;
}

function printRuns(runs: readonly Run[]): void {
  if (runs.length === 0) {
    process.stdout.write('no training runs yet\n');
    return;
  }
  const rows = runs.map((r) => [
    r.runId,
    r.status,
    r.jobState?.replace('JOB_STATE_', '') ?? '—',
    String(r.dataset?.rows ?? '—'),
    r.candidateMetric ? `${r.candidateMetric.name} ${r.candidateMetric.value}${r.deployedMetric ? ` (serving ${r.deployedMetric.value})` : ''}` : '—',
    `${r.window.from.slice(0, 16)} → ${r.window.to.slice(0, 16)}`,
    r.reason ?? '',
  ]);
  const header = ['run', 'status', 'job', 'rows', 'validation metric', 'window', 'reason'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}

/** The job as the Vertex stand-in of the local stack received it: machine, accelerator, image, dataset. */
async function printJob(jobName: string): Promise<void> {
  const standIn = process.env.SAPPHIRE_VERTEX_STANDIN;
  if (!standIn) return;
  const job = (await (await fetch(`${standIn}/v1/${jobName}`)).json()) as {
    jobSpec?: { workerPoolSpecs?: { machineSpec?: Record<string, unknown>; containerSpec?: { imageUri?: string; args?: string[] } }[]; baseOutputDirectory?: { outputUriPrefix?: string } };
  };
  const pool = job.jobSpec?.workerPoolSpecs?.[0];
  process.stdout.write(
    [
      `custom job ${jobName}`,
      `  machine      ${pool?.machineSpec?.machineType} with ${pool?.machineSpec?.acceleratorCount} × ${pool?.machineSpec?.acceleratorType}`,
      `  image        ${pool?.containerSpec?.imageUri}`,
      `  arguments    ${pool?.containerSpec?.args?.join(' ')}`,
      `  output       ${job.jobSpec?.baseOutputDirectory?.outputUriPrefix}`,
      '',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { agent: { type: 'string' }, run: { type: 'string' }, reason: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
  });
  const [command] = positionals;
  const agent = () => values.agent ?? fail(`--agent is required\n${USAGE}`);
  switch (command) {
    case 'start': {
      process.stderr.write(`exporting ${agent()}'s dataset and starting its training job…\n`);
      const window = values.from || values.to ? { from: values.from, to: values.to } : {};
      const result = (await opsApi('POST', `/agents/${agent()}/training`, { reason: values.reason ?? 'started from the command line', ...window })) as { outcome: string; run: Run };
      process.stdout.write(`${result.outcome}: run ${result.run.runId} is ${result.run.status}${result.run.reason ? ` (${result.run.reason})` : ''}\n`);
      if (result.run.dataset) process.stdout.write(`dataset      ${result.run.dataset.rows} labelled rows: ${result.run.dataset.train}, ${result.run.dataset.validation}, ${result.run.dataset.manifest}\n`);
      if (result.run.jobName) await printJob(result.run.jobName);
      return;
    }
    case 'list': {
      const { runs } = (await opsApi('GET', `/training/runs${values.agent ? `?agent=${encodeURIComponent(values.agent)}` : ''}`)) as { runs: Run[] };
      printRuns(runs);
      return;
    }
    case 'promote': {
      const run = values.run ?? fail(`--run is required\n${USAGE}`);
      const result = (await opsApi('POST', `/agents/${agent()}/training/promote`, { runId: run, reason: values.reason ?? fail('--reason is required') })) as { run: Run };
      process.stdout.write(`${result.run.runId} now serves ${agent()} (${result.run.status})\n`);
      return;
    }
    case 'rollback': {
      const result = (await opsApi('POST', `/agents/${agent()}/training/rollback`, { reason: values.reason ?? fail('--reason is required') })) as { modelName: string };
      process.stdout.write(`${agent()} serves ${result.modelName} again\n`);
      return;
    }
    default:
      fail(USAGE);
  }
}

await main();
