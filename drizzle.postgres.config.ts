import { defineConfig } from 'drizzle-kit';

/** The PostgreSQL migrations (DATABASE_URL); the SQLite ones stay in drizzle/ (drizzle.config.ts). */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/postgres/schema.ts',
  out: './drizzle/postgres',
});
