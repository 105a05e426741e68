import { Hono } from 'hono';
import { requireAuth } from '../../http/auth.js';
import { reply } from '../../http/respond.js';
import { query } from '../../http/validated-input.js';
import type { Metrics } from '../../observability/metrics.js';
import type { UserService } from '../../users/user-service.js';
import { metricsDocs, metricsQuery } from './metrics-openapi.js';

/** JSON in the WhatsApp shape by default; Prometheus text with ?format=prometheus. Admin or API key. */
export function metricsRoutes({ users, metrics, apiKey }: { users: UserService; metrics: Metrics; apiKey?: string | undefined }) {
  const app = new Hono();
  app.get('/', metricsDocs, requireAuth({ users, apiKey, adminOnly: true }), query(metricsQuery), async (c) => {
    if (c.req.valid('query').format === 'prometheus') {
      return c.text(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType });
    }
    const all = await metrics.registry.getMetricsAsJSON();
    const shaped: Record<string, unknown> = {};
    for (const metric of all) {
      shaped[metric.name] = {
        type: metric.type,
        help: metric.help,
        data: (metric.values ?? []).map((value) => {
          const name = (value as { metricName?: string }).metricName;
          return { labels: value.labels, value: value.value, ...(name ? { name } : {}) };
        }),
      };
    }
    return reply(c, { metrics: shaped });
  });
  return app;
}
