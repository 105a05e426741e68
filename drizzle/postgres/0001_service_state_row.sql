-- The one service_state row exists as soon as the schema does, so no instance ever has to create it.
INSERT INTO "service_state" ("id", "generation", "webhook_ca_generation", "updated_at") VALUES (1, 0, 0, 0) ON CONFLICT ("id") DO NOTHING;
