/**
 * npm run agents -- <command>: read and change agent profiles through ops-api (audited there).
 *   get [<agentId>]
 *   set <agentId> --reason <text> [--budget <USD>] [--max-leverage <n>] [--min-notional <USD>]
 *       [--max-notional <USD>] [--symbols BTCUSDT,ETHUSDT] [--flatten-on-halt true|false]
 *       [--flatten-on-portfolio-halt true|false]
 * Against the local stack it finds ops-api by itself; elsewhere set SAPPHIRE_OPS_API_URL and OPS_TOKEN.
 */
import { parseArgs } from 'node:util';
import { type AgentProfile, type AgentProfileChanges, haltFlattens } from '../shared/domain/agents.js';
import { microsToUsd, usdToMicros } from '../shared/domain/money.js';
import { fail, opsApi } from './lib/ops-client.js';

const USAGE = `usage: npm run agents -- get [<agentId>]
       npm run agents -- set <agentId> --reason <text> [--budget <USD>] [--max-leverage <n>] [--min-notional <USD>] [--max-notional <USD>] [--symbols A,B] [--flatten-on-halt true|false] [--flatten-on-portfolio-halt true|false]`;

function describe(p: AgentProfile): string {
  const flatten = ` flatten on halt: agent ${haltFlattens(p).onAgentHalt}, portfolio ${haltFlattens(p).onPortfolioHalt}`;
  return `${p.agentId.padEnd(16)} budget ${microsToUsd(p.marginAllocationMicros)} USD  leverage ≤ ${p.maxLeverage}  notional ${microsToUsd(p.minPositionNotionalMicros)}..${microsToUsd(p.maxPositionNotionalMicros)} USD  ${p.allowedSymbols.join(',')}${flatten}`;
}

const bool = (text: string | undefined, name: string) => (text === undefined ? undefined : text === 'true' ? true : text === 'false' ? false : fail(`--${name} takes true or false`));
const usd = (text: string | undefined, name: string) => {
  if (text === undefined) return undefined;
  try {
    return usdToMicros(text);
  } catch (error) {
    return fail(`--${name}: ${(error as Error).message}`);
  }
};

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      reason: { type: 'string' },
      budget: { type: 'string' },
      'max-leverage': { type: 'string' },
      'min-notional': { type: 'string' },
      'max-notional': { type: 'string' },
      symbols: { type: 'string' },
      'flatten-on-halt': { type: 'string' },
      'flatten-on-portfolio-halt': { type: 'string' },
    },
  });
  const [command, agentId] = positionals;
  if (command === 'get') {
    const profiles = agentId ? [(await opsApi('GET', `/agents/${agentId}`)) as AgentProfile] : ((await opsApi('GET', '/agents')) as { agents: AgentProfile[] }).agents;
    process.stdout.write(`${profiles.map(describe).join('\n')}\n`);
    return;
  }
  if (command !== 'set' || !agentId) fail(USAGE);
  const current = (await opsApi('GET', `/agents/${agentId}`)) as AgentProfile;
  const onHalt = bool(values['flatten-on-halt'], 'flatten-on-halt');
  const onPortfolioHalt = bool(values['flatten-on-portfolio-halt'], 'flatten-on-portfolio-halt');
  const changes: AgentProfileChanges = {
    ...(values.budget !== undefined ? { marginAllocationMicros: usd(values.budget, 'budget') } : {}),
    ...(values['max-leverage'] !== undefined ? { maxLeverage: Number(values['max-leverage']) } : {}),
    ...(values['min-notional'] !== undefined ? { minPositionNotionalMicros: usd(values['min-notional'], 'min-notional') } : {}),
    ...(values['max-notional'] !== undefined ? { maxPositionNotionalMicros: usd(values['max-notional'], 'max-notional') } : {}),
    ...(values.symbols !== undefined ? { allowedSymbols: values.symbols.split(',').map((s) => s.trim()) } : {}),
    ...(onHalt !== undefined || onPortfolioHalt !== undefined
      ? { flatten: { onAgentHalt: onHalt ?? haltFlattens(current).onAgentHalt, onPortfolioHalt: onPortfolioHalt ?? haltFlattens(current).onPortfolioHalt } }
      : {}),
  };
  if (Object.keys(changes).length === 0) fail(`nothing to change\n${USAGE}`);
  const { before, after } = (await opsApi('PATCH', `/agents/${agentId}`, { changes, reason: values.reason ?? fail('--reason is required') })) as { before: AgentProfile; after: AgentProfile };
  process.stdout.write(`before  ${describe(before)}\nafter   ${describe(after)}\n`);
}

await main();
