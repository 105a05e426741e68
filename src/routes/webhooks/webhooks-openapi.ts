import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { EVENT_TYPES, type HotcertEventType } from '../../events/events.js';
import { errorResponses, jsonResponse, withMeta } from '../../openapi/responses.js';
import { webhookUrlProblem } from '../../webhooks/webhook-url.js';

const tags = ['webhooks'];

const urlField = z
  .string({ error: (issue) => (issue.input === undefined ? 'url is required' : 'url must be a string') })
  .superRefine((value, ctx) => {
    const problem = webhookUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ format: 'uri', description: 'https:// only; hotcert trusts the system roots plus the webhook CA bundle (/v1/certificates/webhooks/ca).' });

const eventsRule = `events must be a non-empty list of event types: ${EVENT_TYPES.join(', ')}`;
const eventsField = z
  .array(z.enum(EVENT_TYPES as [HotcertEventType, ...HotcertEventType[]], { error: eventsRule }), { error: eventsRule })
  .min(1, eventsRule)
  .meta({ description: 'The event types to send (default: all of them).' });

const enabledField = z.boolean({ error: 'enabled must be true or false' }).meta({ description: 'A disabled webhook records nothing; its pending deliveries wait until it is enabled again.' });

export const createWebhookBody = z.object({ url: urlField, events: eventsField.optional(), enabled: enabledField.optional() }).meta({ id: 'CreateWebhookRequest' });
export const updateWebhookBody = z
  .object({ url: urlField.optional(), events: eventsField.optional(), enabled: enabledField.optional() })
  .refine((body) => body.url !== undefined || body.events !== undefined || body.enabled !== undefined, { message: 'give at least one of url, events, enabled', path: ['url'] })
  .meta({ id: 'UpdateWebhookRequest' });
export const webhookParams = z.object({ id: z.string().meta({ description: 'The webhook id (from its creation or the list).' }) });

const limitRule = 'limit must be a whole number from 1 to 200';
export const deliveriesQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, limitRule)
    .refine((value) => Number(value) >= 1 && Number(value) <= 200, limitRule)
    .optional()
    .meta({ description: 'How many deliveries, newest first: 1 to 200 (default 50).' }),
});

const webhook = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  created_at: z.string(),
  created_by: z.string(),
  updated_at: z.string(),
});
const webhooksAnswer = withMeta({ webhooks: z.array(webhook) }).meta({ id: 'WebhooksAnswer' });
const createdAnswer = withMeta({
  webhooks: z.array(webhook.extend({ secret: z.string().meta({ description: 'The HMAC-SHA256 signing key. Shown in this answer only: store it now.' }) })),
}).meta({ id: 'WebhookCreatedAnswer' });
const deletedAnswer = withMeta({ webhooks: z.array(z.object({ id: z.string() })) }).meta({ id: 'WebhookDeletedAnswer' });
const delivery = z.object({
  id: z.string().meta({ description: 'Also sent as X-Hotcert-Delivery (the same on every retry).' }),
  event_id: z.string(),
  event_type: z.string(),
  status: z.enum(['pending', 'sending', 'delivered', 'failed']),
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  delivered_at: z.string().nullable(),
});
const deliveriesAnswer = withMeta({ deliveries: z.array(delivery) }).meta({ id: 'WebhookDeliveriesAnswer' });

export const webhooksDocs = {
  list: describeRoute({ tags, summary: 'The registered webhooks (admin; secrets are never shown)', responses: { 200: jsonResponse(webhooksAnswer, 'Every webhook.') } }),
  create: describeRoute({
    tags,
    summary: 'Register an HTTPS URL that receives events (admin)',
    description:
      'Answers the new webhook with its `secret`, once. Each event is POSTed as `{id, type, created_at, data}` with `X-Hotcert-Event`, `X-Hotcert-Delivery` and `X-Hotcert-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body" keyed with the secret>`; retried with backoff until a 2xx.',
    responses: { 201: jsonResponse(createdAnswer, 'Registered.'), ...errorResponses([400], { 400: 'url is not https://, events names an unknown type, or too many webhooks (1009); url missing (1008).' }) },
  }),
  get: describeRoute({ tags, summary: 'One webhook (admin)', responses: { 200: jsonResponse(webhooksAnswer, 'The webhook.'), ...errorResponses([404]) } }),
  update: describeRoute({
    tags,
    summary: 'Change the url, events or enabled flag (admin)',
    responses: { 200: jsonResponse(webhooksAnswer, 'Changed.'), ...errorResponses([400, 404]) },
  }),
  delete: describeRoute({ tags, summary: 'Delete a webhook and its delivery log (admin)', responses: { 200: jsonResponse(deletedAnswer, 'Deleted.'), ...errorResponses([404]) } }),
  deliveries: describeRoute({
    tags,
    summary: 'The delivery log of one webhook, newest first (admin)',
    description: 'Status (`pending`, `sending`, `delivered`, `failed` after the last attempt), attempts, the last answer code or error, timestamps.',
    responses: { 200: jsonResponse(deliveriesAnswer, 'Deliveries.'), ...errorResponses([400, 404]) },
  }),
};
