import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { errorResponses, jsonResponse, textResponse, withMeta } from '../../openapi/responses.js';

export const metricsQuery = z.object({
  format: z
    .enum(['json', 'prometheus'], { error: 'format must be json or prometheus' })
    .optional()
    .meta({ description: '`prometheus` for the text exposition format; JSON by default.' }),
});

const sample = z.object({ labels: z.record(z.string(), z.union([z.string(), z.number()])), value: z.number(), name: z.string().optional() });
const metric = z.object({ type: z.string(), help: z.string(), data: z.array(sample) });

const metricsAnswer = withMeta({ metrics: z.record(z.string(), metric) }).meta({ id: 'MetricsAnswer' });

export const metricsDocs = describeRoute({
  tags: ['monitoring'],
  summary: 'Metrics (admin or the API key)',
  responses: {
    200: {
      description: 'JSON by default; Prometheus text with `?format=prometheus`.',
      content: { ...jsonResponse(metricsAnswer, '').content, ...textResponse('').content },
    },
    ...errorResponses([400]),
  },
});
