/**
 * npm run journey -- <signalId>: everything that happened to one signal, in time order, through
 * ops-api (GET /signals/{signalId}). Against the local stack it finds ops-api by itself.
 */
import { fail, opsApi } from './lib/ops-client.js';

const [signalId] = process.argv.slice(2);
if (!signalId) fail('usage: npm run journey -- <signalId>');
const { steps } = (await opsApi('GET', `/signals/${encodeURIComponent(signalId)}`)) as { steps: { at: string; what: string }[] };
process.stdout.write(`${steps.map((s) => `${s.at}  ${s.what}`).join('\n')}\n`);
