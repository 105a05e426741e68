import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { errorResponses, jsonResponse, withMeta } from '../../openapi/responses.js';
import { describePasswordProblems, passwordProblems } from '../../users/password-policy.js';

const tags = ['users'];

/** A password field: the SPEC's policy, with the messages the service used to give. */
export const passwordField = (name: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${name} is required` : `${name} must be a string`) })
    .superRefine((value, ctx) => {
      const problems = passwordProblems(value);
      if (problems.length > 0) ctx.addIssue({ code: 'custom', message: `${name}: ${describePasswordProblems(problems)}` });
    })
    .meta({ minLength: 8, maxLength: 64, description: '8–64 characters with a digit, an upper-case and a lower-case letter, and a special character.' });

const usernameRule = 'username must be a string of 4 to 32 characters';
export const usernameField = z
  .string({ error: (issue) => (issue.input === undefined ? 'username is required' : usernameRule) })
  .min(4, { error: usernameRule, abort: true })
  .max(32, { error: usernameRule, abort: true })
  .regex(/^[\x21-\x7e]+$/, 'username may hold printable ASCII characters only, no spaces');

export const loginBody = z.object({ new_password: passwordField('new_password').optional() }).meta({ id: 'LoginRequest' });
export const createUserBody = z.object({ username: usernameField, password: passwordField('password') }).meta({ id: 'CreateUserRequest' });
export const updateUserBody = z
  .object({
    password: passwordField('password'),
    current_password: z
      .string({ error: 'current_password must be a string' })
      .optional()
      .meta({ description: 'Required when changing your own password (not in the WhatsApp API); an admin setting another user\'s password leaves it out.' }),
  })
  .meta({ id: 'UpdateUserRequest' });
export const userParams = z.object({ name: z.string().meta({ description: 'The user name (case-sensitive).' }) });

const username = z.object({ username: z.string() });
const usersAnswer = withMeta({ users: z.array(username) }).meta({ id: 'UsernameAnswer' });

export const usersDocs = {
  login: describeRoute({
    tags,
    summary: 'Log in (and change the password)',
    description:
      'Basic credentials in, a bearer token (valid 7 days) out. With `{"new_password"}` the password is changed first; the default `admin/secret` must change it (400, code 1024). Failed logins are throttled per name and per address (429).',
    security: [{ basicAuth: [] }],
    responses: {
      200: jsonResponse(
        withMeta({ users: z.array(z.object({ token: z.string(), expires_after: z.string().meta({ description: '"YYYY-MM-DD HH:MM:SS+00:00"', example: '2026-12-05 10:00:00+00:00' }) })) }).meta({ id: 'LoginAnswer' }),
        'A new token.',
      ),
      ...errorResponses([400, 401, 429], { 401: 'Missing or malformed Basic header, or a wrong name or password.' }),
    },
  }),
  logout: describeRoute({
    tags,
    summary: 'Revoke the presented token',
    responses: { 200: jsonResponse(withMeta({}).meta({ id: 'MetaOnly' }), 'The token is revoked.') },
  }),
  create: describeRoute({
    tags,
    summary: 'Create a user (ROLE_USER)',
    responses: { 201: jsonResponse(usersAnswer, 'Created.'), ...errorResponses([400, 409]) },
  }),
  get: describeRoute({
    tags,
    summary: 'Read a user (admin, or the user itself)',
    responses: {
      200: jsonResponse(withMeta({ users: z.array(z.object({ username: z.string(), ROLES: z.enum(['ROLE_ADMIN', 'ROLE_USER']) })) }).meta({ id: 'UserAnswer' }), 'The user.'),
      ...errorResponses([403, 404], { 403: 'Not an admin, and not this user.' }),
    },
  }),
  update: describeRoute({
    tags,
    summary: "Change a user's password (admin, or the user itself)",
    description: "Revokes that user's other tokens. Changing your own password needs `current_password` (400 without it, 403 when wrong, 429 after repeated wrong ones).",
    responses: { 200: jsonResponse(usersAnswer, 'Changed.'), ...errorResponses([400, 403, 404, 429], { 403: 'Not an admin, and not this user; or a wrong current_password.' }) },
  }),
  delete: describeRoute({
    tags,
    summary: 'Delete a user (never `admin`)',
    responses: { 200: jsonResponse(usersAnswer, 'Deleted.'), ...errorResponses([400, 404], { 400: 'The admin user cannot be deleted.' }) },
  }),
};
