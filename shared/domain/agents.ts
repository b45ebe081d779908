import { z } from 'zod';
import { USD } from './money.js';
import { AgentId, Leverage, MicroUsd, PositiveMicroUsd, Symbol } from './vocabulary.js';

/**
 * An agent's trading profile. Profiles are data: they are seeded into Firestore and read from
 * there, so changing a budget or adding an agent needs no code change.
 */
const AgentProfileFields = z
  .object({
    agentId: AgentId,
    displayName: z.string().min(1),
    model: z.string().min(1),
    strategy: z.enum(['momentum', 'mean_reversion', 'fundamental_sentiment', 'volatility_forecast']),
    marginAllocationMicros: MicroUsd,
    maxLeverage: Leverage,
    minPositionNotionalMicros: MicroUsd,
    maxPositionNotionalMicros: PositiveMicroUsd,
    allowedSymbols: z.array(Symbol).min(1),
    /** The Vertex endpoint serving this agent's model; unset, VERTEX_ENDPOINTS names it. */
    modelEndpoint: z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/endpoints\/[^/]+$/, 'projects/<p>/locations/<l>/endpoints/<id>').optional(),
    /**
     * What a halt does to this agent's open positions: close them when it is halted, and when the
     * whole portfolio is. Unset, both are on (FLATTEN_ON_EVERY_HALT): a halted agent is flat.
     */
    flatten: z.object({ onAgentHalt: z.boolean(), onPortfolioHalt: z.boolean() }).strict().optional(),
    /** How this agent's model is fine-tuned; unset fields take the deployment's defaults. */
    training: z
      .object({
        machineType: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(),
        acceleratorType: z.string().regex(/^[A-Z0-9_]{1,40}$/).optional(),
        acceleratorCount: z.number().int().min(0).max(16).optional(),
        /** Base model the LoRA adapter is trained on (a Hugging Face id or a gs:// folder). */
        baseModel: z.string().min(1).max(300).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const AgentProfile = AgentProfileFields.refine((p) => p.minPositionNotionalMicros <= p.maxPositionNotionalMicros, {
  message: 'minPositionNotionalMicros must not exceed maxPositionNotionalMicros',
  path: ['minPositionNotionalMicros'],
});
export type AgentProfile = z.infer<typeof AgentProfile>;

/** What an operator may change of a profile: any field but its id. */
export const AgentProfileChanges = AgentProfileFields.omit({ agentId: true }).partial().strict();
export type AgentProfileChanges = z.infer<typeof AgentProfileChanges>;

const MAJORS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT'];

/**
 * A halt closes the agent's positions, on its own halt and on the portfolio's: a halted agent
 * that kept its position would go on losing with nothing resting at the venue to stop it.
 */
export const FLATTEN_ON_EVERY_HALT = { onAgentHalt: true, onPortfolioHalt: true } as const;

/** What a halt does to the profile's positions (FLATTEN_ON_EVERY_HALT when the profile says nothing). */
export function haltFlattens(profile: Pick<AgentProfile, 'flatten'>): { readonly onAgentHalt: boolean; readonly onPortfolioHalt: boolean } {
  return profile.flatten ?? FLATTEN_ON_EVERY_HALT;
}

/** The four agents Sapphire ships with; each starts with a 1,000 USD margin budget. */
export const DEFAULT_AGENTS: readonly AgentProfile[] = [
  {
    agentId: 'deepseek-v3',
    displayName: 'DeepSeek',
    model: 'deepseek-v3',
    strategy: 'momentum',
    marginAllocationMicros: 1_000 * USD,
    maxLeverage: 10,
    minPositionNotionalMicros: 10 * USD,
    maxPositionNotionalMicros: 5_000 * USD,
    allowedSymbols: MAJORS,
    flatten: FLATTEN_ON_EVERY_HALT,
    // DeepSeek-V3 itself (671B) is not LoRA-tuned on one A100: its 7B distillation is.
    training: { baseModel: 'deepseek-ai/DeepSeek-R1-Distill-Qwen-7B' },
  },
  {
    agentId: 'qwen-7b',
    displayName: 'Qwen',
    model: 'qwen2.5-7b-instruct',
    strategy: 'mean_reversion',
    marginAllocationMicros: 1_000 * USD,
    maxLeverage: 5,
    minPositionNotionalMicros: 10 * USD,
    maxPositionNotionalMicros: 3_000 * USD,
    allowedSymbols: MAJORS,
    flatten: FLATTEN_ON_EVERY_HALT,
    training: { baseModel: 'Qwen/Qwen2.5-7B-Instruct' },
  },
  {
    agentId: 'fingpt-alpha',
    displayName: 'FinGPT',
    model: 'fingpt-forecaster',
    strategy: 'fundamental_sentiment',
    marginAllocationMicros: 1_000 * USD,
    maxLeverage: 3,
    minPositionNotionalMicros: 10 * USD,
    maxPositionNotionalMicros: 2_000 * USD,
    allowedSymbols: MAJORS,
    flatten: FLATTEN_ON_EVERY_HALT,
    // FinGPT is LoRA on an open chat model; an ungated one, so jobs need no Hugging Face token.
    training: { baseModel: 'Qwen/Qwen2.5-7B-Instruct' },
  },
  {
    agentId: 'lagllama-degen',
    displayName: 'Lag-Llama',
    model: 'lag-llama',
    strategy: 'volatility_forecast',
    marginAllocationMicros: 1_000 * USD,
    maxLeverage: 20,
    minPositionNotionalMicros: 10 * USD,
    maxPositionNotionalMicros: 10_000 * USD,
    allowedSymbols: MAJORS,
    flatten: FLATTEN_ON_EVERY_HALT,
  },
];
