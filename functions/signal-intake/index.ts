import type { Request, Response } from '@google-cloud/functions-framework';
import { serveHttp } from '../../shared/http/serve.js';
import { loadConfig } from '../../shared/config.js';
import { TradeSignal, createdAheadOf } from '../../shared/domain/messages.js';
import { TradingViewAlert, tradingViewSignal } from '../../shared/domain/tradingview.js';
import { fieldErrors, sendProblem } from '../../shared/http/problems.js';
import { bearerToken, matchesAnySecret } from '../../shared/http/secrets.js';
import { PublishTimeout, publishSignal } from '../../shared/intake/publish-signal.js';
import { log } from '../../shared/log.js';
import { pubsubOnFirstUse } from '../../shared/pubsub/lazy-client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';

/**
 * signal-intake (HTTP): external trade signals in, `signals` out.
 *   POST /signals      a TradeSignal as JSON, `Authorization: Bearer <token>`
 *   POST /tradingview  a TradingView alert whose body carries its source and secret
 * Answers 202 with the signalId once Pub/Sub has stored the message.
 */

const config = loadConfig(process.env, 'signal-intake');
const publisher = new JsonPublisher(pubsubOnFirstUse(config.GOOGLE_CLOUD_PROJECT));
// TradingView abandons a webhook after 3 s; answer well before that.
const PUBLISH_TIMEOUT_MS = 2_000;

async function accept(res: Response, candidate: unknown): Promise<void> {
  const parsed = TradeSignal.safeParse(candidate);
  if (!parsed.success) {
    sendProblem(res, 400, 'invalid trade signal', fieldErrors(parsed.error));
    return;
  }
  const signal = parsed.data;
  const ahead = createdAheadOf(signal, new Date());
  if (ahead) {
    sendProblem(res, 400, 'invalid trade signal', [{ field: 'createdAt', message: ahead }]);
    return;
  }
  try {
    const messageId = await publishSignal(publisher, config.topics, signal, PUBLISH_TIMEOUT_MS);
    log.info('signal accepted', { signalId: signal.signalId, agentId: signal.agentId, source: signal.source, messageId });
    res.status(202).json({ signalId: signal.signalId, messageId });
  } catch (error) {
    log.error('signal publish failed', { signalId: signal.signalId, error });
    sendProblem(
      res,
      503,
      error instanceof PublishTimeout ? 'signal queue did not confirm in time; retry' : 'signal queue unavailable; retry',
    );
  }
}

function jsonBody(req: Request): unknown {
  if (typeof req.body === 'object' && req.body !== null && !Buffer.isBuffer(req.body)) return req.body;
  const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : String(req.body ?? '');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function postSignal(req: Request, res: Response): Promise<void> {
  const token = bearerToken(req.get('authorization'));
  if (token === undefined || !matchesAnySecret(token, config.SIGNAL_INTAKE_TOKENS)) {
    sendProblem(res, 401, 'a valid bearer token is required');
    return;
  }
  const body = jsonBody(req);
  if (body === undefined) {
    sendProblem(res, 400, 'body must be JSON');
    return;
  }
  await accept(res, body);
}

async function postTradingView(req: Request, res: Response): Promise<void> {
  const body = jsonBody(req) as { source?: unknown; secret?: unknown } | undefined;
  if (body === undefined) {
    sendProblem(res, 400, 'body must be JSON');
    return;
  }
  const source = typeof body?.source === 'string' ? body.source : '';
  const secret = typeof body?.secret === 'string' ? body.secret : '';
  const expected = Object.hasOwn(config.TRADINGVIEW_SOURCE_SECRETS, source) ? config.TRADINGVIEW_SOURCE_SECRETS[source] : undefined;
  // Compare even for an unknown source, so timing does not reveal which sources exist.
  const authentic = matchesAnySecret(secret, [expected ?? '\u0000no-such-source']) && expected !== undefined;
  if (!authentic) {
    // A source that is not configured is not logged: it may be a secret sent in the wrong field.
    log.warn('tradingview alert refused', expected === undefined ? { source: '(not configured)' } : { source });
    sendProblem(res, 401, 'unknown source or wrong secret');
    return;
  }
  const alert = TradingViewAlert.safeParse(body);
  if (!alert.success) {
    sendProblem(res, 400, 'invalid TradingView alert', fieldErrors(alert.error));
    return;
  }
  let signal: ReturnType<typeof tradingViewSignal>;
  try {
    signal = tradingViewSignal(alert.data, config.SIGNAL_TTL_SECONDS);
  } catch (error) {
    sendProblem(res, 400, 'invalid TradingView alert', [{ field: 'price', message: (error as Error).message }]);
    return;
  }
  await accept(res, signal);
}

serveHttp('signalIntake', async (req, res) => {
  const route = `${req.method} ${req.path}`;
  if (route === 'POST /signals') return postSignal(req, res);
  if (route === 'POST /tradingview') return postTradingView(req, res);
  sendProblem(res, 404, 'routes: POST /signals, POST /tradingview');
});
