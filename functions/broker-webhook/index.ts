import type { Request, Response } from '@google-cloud/functions-framework';
import { serveHttp } from '../../shared/http/serve.js';
import { loadConfig } from '../../shared/config.js';
import { parseBinanceOrderTradeUpdate } from '../../shared/domain/binance-order-update.js';
import { VENUE_MADE_ORDER } from '../../shared/domain/exchange.js';
import { OrderUpdate } from '../../shared/domain/order-updates.js';
import { factsFromOrderUpdate } from '../../shared/domain/venue-facts.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../../shared/domain/webhook-signature.js';
import { type FieldError, fieldErrors, sendProblem } from '../../shared/http/problems.js';
import { log } from '../../shared/log.js';
import { applyAndPublish } from '../../shared/trading/apply-facts.js';
import { tradingDepsFromConfig } from '../../shared/trading/runtime.js';

/**
 * broker-webhook (HTTP): order updates from brokers and venue bridges, HMAC-signed.
 *   POST /brokers/{broker}/order-updates   Sapphire's OrderUpdate
 *   POST /brokers/{broker}/binance         a Binance ORDER_TRADE_UPDATE event, relayed
 *   POST /brokers/{broker}/aster           the same, from Aster DEX
 * Headers: X-Sapphire-Timestamp (unix seconds) and X-Sapphire-Signature (v1=hex HMAC-SHA256 of
 * "<timestamp>.<raw body>" with the broker's secret). Stale, unsigned and replayed requests are
 * refused with 401 and change nothing. Facts that are not the order's (another venue order, symbol,
 * side or quantity, or a fill beyond the order) are refused with 409 and booked nowhere.
 */

const config = loadConfig(process.env, 'broker-webhook');
const deps = tradingDepsFromConfig(config);
const ROUTE = /^\/brokers\/([a-z0-9-]{1,40})\/(order-updates|binance|aster)$/;

type Parsed = { ok: true; update: OrderUpdate } | { ok: false; fields: FieldError[] };

function parse(format: string, json: unknown): Parsed {
  if (format === 'order-updates') {
    const result = OrderUpdate.safeParse(json);
    return result.success ? { ok: true, update: result.data } : { ok: false, fields: fieldErrors(result.error) };
  }
  return parseBinanceOrderTradeUpdate(json, format === 'aster' ? 'aster' : 'binance');
}

async function receive(req: Request, res: Response, broker: string, format: string): Promise<void> {
  const secret = Object.hasOwn(config.BROKER_WEBHOOK_SECRETS, broker) ? config.BROKER_WEBHOOK_SECRETS[broker] : undefined;
  const rawBody = req.rawBody ?? Buffer.alloc(0);
  const verdict = verifyWebhook({
    secrets: secret ? [secret] : [],
    timestampHeader: req.get(TIMESTAMP_HEADER),
    signatureHeader: req.get(SIGNATURE_HEADER),
    rawBody,
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  if (!verdict.ok) {
    log.warn('broker webhook refused', { broker, reason: verdict.reason });
    sendProblem(res, 401, verdict.reason);
    return;
  }
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    sendProblem(res, 400, 'body must be JSON');
    return;
  }
  const parsed = parse(format, json);
  if (!parsed.ok) {
    sendProblem(res, 400, 'invalid order update', parsed.fields);
    return;
  }
  const { update } = parsed;
  const result = await applyAndPublish(deps, factsFromOrderUpdate(update), `${broker}:${update.eventId}`);
  if (result.outcome === 'replayed') {
    sendProblem(res, 401, 'replayed event id');
    return;
  }
  if (result.outcome === 'unknown_order' && VENUE_MADE_ORDER.test(update.orderId)) {
    // A liquidation or auto-deleveraging: the reconciler books it to the agent whose account it is.
    res.status(202).json({ outcome: 'deferred', detail: 'an order the venue made itself: the reconciler books it to its agent' });
    return;
  }
  if (result.outcome === 'unknown_order') {
    sendProblem(res, 422, `unknown order ${update.orderId}`);
    return;
  }
  if (result.outcome === 'refused') {
    // Never booked: not this order's facts, or more than the order. A retry would be refused again.
    sendProblem(res, 409, result.refusal ?? 'not the facts of this order');
    return;
  }
  log.info('order update received', {
    broker,
    eventId: update.eventId,
    orderId: update.orderId,
    status: update.status,
    outcome: result.outcome,
  });
  res.status(200).json({ outcome: result.outcome, orderStatus: result.order?.status });
}

serveHttp('brokerWebhook', async (req, res) => {
  const match = ROUTE.exec(req.path);
  if (req.method !== 'POST' || !match) {
    sendProblem(res, 404, 'routes: POST /brokers/{broker}/order-updates | binance | aster');
    return;
  }
  try {
    await receive(req, res, match[1] as string, match[2] as string);
  } catch (error) {
    log.error('order update failed; the broker should retry', { error });
    sendProblem(res, 500, 'internal error; retry');
  }
});
