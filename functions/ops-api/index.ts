import type { Request, Response } from '@google-cloud/functions-framework';
import { serveHttp } from '../../shared/http/serve.js';
import { z } from 'zod';
import { loadConfig } from '../../shared/config.js';
import { agentProfileOf } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { RiskBook } from '../../shared/firestore/risk-book.js';
import { changeTradingState } from '../../shared/firestore/trading-states.js';
import { fieldErrors, refuseNonJsonBody, sendProblem } from '../../shared/http/problems.js';
import { bearerToken, matchesAnySecret } from '../../shared/http/secrets.js';
import { log } from '../../shared/log.js';
import { dashboardJson, renderDashboard } from '../../shared/ops/dashboard.js';
import { readPathFigures, renderMetrics } from '../../shared/ops/metrics.js';
import { readPortfolioView } from '../../shared/ops/portfolio-view.js';
import { handleAgentsRoute, isAgentsRoute } from '../../shared/ops/agents-api.js';
import { readHealth } from '../../shared/ops/health.js';
import { signalJourney } from '../../shared/ops/journey.js';
import { handleFlattenRoute, isFlattenRoute } from '../../shared/ops/flatten-api.js';
import { handleTrainingRoute, isTrainingRoute } from '../../shared/ops/training-api.js';
import { tradingDepsFromConfig } from '../../shared/trading/runtime.js';
import { trainingDepsFromConfig } from '../../shared/training/runtime.js';

/**
 * ops-api (HTTP): health, and the operator's kill switch.
 *   GET  /healthz      readiness: Firestore, the evaluator's last run (503 when silent > 3 min), prices, dead letters
 *   GET  /metrics      Prometheus text: agent_margin_remaining_usd, portfolio_drawdown_pct, …
 *   GET  /dashboard    the operator's page (GET /dashboard.json: what it shows, as JSON)
 *   POST /agents/{id}/halt | /agents/{id}/resume     {"reason": "..."}
 *   POST /portfolio/halt   | /portfolio/resume       {"reason": "..."}
 *   POST /portfolio/reset-peak | /agents/{id}/reset-peak   peak equity := last evaluated equity
 *   POST /agents/{id}/training | /agents/{id}/training/promote | /agents/{id}/training/rollback
 *   GET  /training/runs[?agent=<id>]        (shared/ops/training-api.ts)
 *   POST /agents/{id}/flatten | /portfolio/flatten, GET /flattens/{id},
 *   POST /agents/{id}/positions/{symbol}/adopt                            (shared/ops/flatten-api.ts)
 *   GET /agents, GET|PATCH|PUT /agents/{id}                               (shared/ops/agents-api.ts)
 *   GET /signals/{signalId}   the signal's journey, in time order          (shared/ops/journey.ts)
 * Every change needs `Authorization: Bearer <token>` (OPS_API_TOKENS) and is recorded with the
 * token's name as who and the body's reason as why.
 */

const config = loadConfig(process.env, 'ops-api');
const db = firestoreFor(config.GOOGLE_CLOUD_PROJECT);
const book = new RiskBook(db);
const training = trainingDepsFromConfig(config);
const trading = tradingDepsFromConfig(config);
const ROUTE = /^\/(?:agents\/([a-z0-9][a-z0-9-]{1,62})|(portfolio))\/(halt|resume|reset-peak)$/;
const Body = z.object({ reason: z.string().trim().min(3).max(500) }).strict();
const JOURNEY = /^\/signals\/([A-Za-z0-9][A-Za-z0-9._:-]{0,127})$/;

/** The operator a token belongs to; every token is compared, in constant time. */
function operatorOf(req: Request): string | undefined {
  const token = bearerToken(req.get('authorization'));
  if (token === undefined) return undefined;
  let name: string | undefined;
  for (const entry of config.OPS_API_TOKENS) if (matchesAnySecret(token, [entry.token])) name = entry.name;
  return name;
}

type Action = 'halt' | 'resume' | 'reset-peak';

/** `agent`: the scope came from /agents/{id}/…, where it must name an agent (not even `portfolio`). */
async function act(req: Request, res: Response, scope: string, action: Action, agent: boolean): Promise<void> {
  const operator = operatorOf(req);
  if (!operator) {
    sendProblem(res, 401, 'an operator bearer token is required');
    return;
  }
  if (refuseNonJsonBody(req, res)) return;
  // A typo must not answer "halted" while the real agent trades on.
  if (agent && !(await agentProfileOf(db, scope))) {
    sendProblem(res, 404, `no agent profile for ${scope}`);
    return;
  }
  const body = Body.safeParse(req.body);
  if (!body.success) {
    sendProblem(res, 400, 'say why', fieldErrors(body.error));
    return;
  }
  if (action === 'reset-peak') {
    const reset = await book.resetPeak(scope, `operator:${operator}`, body.data.reason, new Date());
    if (!reset) {
      sendProblem(res, 409, `no evaluation of ${scope} yet`);
      return;
    }
    log.warn('peak equity reset by an operator', { scope, operator, reason: body.data.reason, ...reset });
    res.status(200).json({ scope, peakEquityMicros: reset.to, previousPeakEquityMicros: reset.from });
    return;
  }
  const state = await changeTradingState(db, {
    scope,
    state: action === 'halt' ? 'halted' : 'active',
    reason: body.data.reason,
    changedBy: `operator:${operator}`,
    at: new Date(),
  });
  log.warn(`trading ${action === 'halt' ? 'halted' : 'resumed'} by an operator`, { scope, operator, reason: body.data.reason });
  res.status(200).json({ scope, ...state });
}

const healthLimits = { evaluatorMaxAgeMs: 3 * 60_000, priceMaxAgeMs: config.RISK_PRICE_STALENESS_SECONDS * 1000 };

serveHttp('opsApi', async (req, res) => {
  try {
    if (req.method === 'GET' && req.path === '/healthz') {
      const health = await readHealth(db, new Date(), healthLimits);
      res.status(health.status === 'ok' ? 200 : 503).json(health);
      return;
    }
    if (req.method === 'GET' && (req.path === '/metrics' || req.path === '/dashboard' || req.path === '/dashboard.json' || req.path === '/')) {
      if (!config.OPS_PUBLIC_READ && !operatorOf(req)) {
        sendProblem(res, 401, 'an operator bearer token is required');
        return;
      }
      if (req.path === '/') {
        // No body: Express's would be an HTML or text page.
        res.status(302).location('dashboard').end();
        return;
      }
      if (req.path === '/metrics') {
        const [view, health] = await Promise.all([readPortfolioView(db), readHealth(db, new Date(), healthLimits)]);
        const { contentType, text } = await renderMetrics(view, await readPathFigures(db, health));
        res.status(200).type(contentType).send(text);
        return;
      }
      const view = await readPortfolioView(db);
      const mode = { paper: config.ENABLE_PAPER_TRADING, vertex: config.ENABLE_VERTEX_AI };
      if (req.path === '/dashboard.json') {
        res.status(200).json(dashboardJson(view, mode));
        return;
      }
      res
        .status(200)
        .type('html')
        .send(renderDashboard(view, mode));
      return;
    }
    const journey = req.method === 'GET' ? JOURNEY.exec(req.path) : null;
    if (journey) {
      if (!operatorOf(req)) {
        sendProblem(res, 401, 'an operator bearer token is required');
        return;
      }
      const steps = await signalJourney(db, journey[1] as string);
      if (!steps) sendProblem(res, 404, `nothing is known of signal ${journey[1]}`);
      else res.status(200).json({ signalId: journey[1], steps });
      return;
    }
    if (isTrainingRoute(req) || isFlattenRoute(req) || isAgentsRoute(req)) {
      const operator = operatorOf(req);
      if (!operator) {
        sendProblem(res, 401, 'an operator bearer token is required');
        return;
      }
      if (refuseNonJsonBody(req, res)) return;
      if (isTrainingRoute(req)) await handleTrainingRoute(req, res, training, operator);
      else if (isFlattenRoute(req)) await handleFlattenRoute(req, res, trading, operator);
      else await handleAgentsRoute(req, res, db, operator);
      return;
    }
    const match = ROUTE.exec(req.path);
    if (req.method === 'POST' && match) {
      await act(req, res, match[2] ?? (match[1] as string), match[3] as Action, match[1] !== undefined);
      return;
    }
    sendProblem(
      res,
      404,
      'routes: GET /healthz, GET /metrics, GET /dashboard, GET /dashboard.json, POST /agents/{id}/halt|resume|reset-peak, POST /portfolio/halt|resume|reset-peak, POST /agents/{id}/training[/promote|/rollback], GET /training/runs, POST /agents/{id}/flatten, POST /portfolio/flatten, GET /flattens/{id}, POST /agents/{id}/positions/{symbol}/adopt, GET /agents, GET|PATCH|PUT /agents/{id}, GET /signals/{signalId}',
    );
  } catch (error) {
    log.error('ops-api failed', { error });
    sendProblem(res, 500, 'internal error');
  }
});
