// What every route of /api/v1 gets: the backends, who is calling, and the audit log.
import type { FastifyRequest } from 'fastify';
import type { Logger } from '@tt/observability';
import type { AdminCluster, AdminStore, OperatorRole } from './backend';
import type { LoginThrottle } from '@tt/auth';

/** Who made a request: an operator (log-in token) or a program (API key). */
export interface Principal {
  /** `operator:<name>` or `key:<prefix>`: the audit log's actor. */
  actor: string;
  role: OperatorRole;
  name: string;
}

/** Who may call a route: anyone, any operator or key (read), or admins only (write). */
export type Access = 'public' | 'viewer' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface ApiContext {
  store: AdminStore;
  cluster: AdminCluster;
  log?: Logger;
  /** Derived from AUTH_JWT_SECRET; null = operator log-in answers 503 (API keys still work). */
  operatorKey: Uint8Array | null;
  tokenTtlSeconds: number;
  /** Back-off after failed operator log-ins (LOGIN_THROTTLE_*). */
  loginThrottle: LoginThrottle;
  now: () => number;
  /** Records a successful write (never with passwords or keys in detail). */
  audit(req: FastifyRequest, action: string, target: string, detail?: Record<string, unknown>): Promise<void>;
}

/** The fields of a request body fit for the audit log: secrets left out. */
export function withoutSecrets(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!/password|secret|key|token/i.test(k)) out[k] = v;
  return out;
}
