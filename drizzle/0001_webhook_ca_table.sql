CREATE TABLE `webhook_ca` (
	`id` integer PRIMARY KEY NOT NULL,
	`pem` text NOT NULL,
	`fingerprints_json` text NOT NULL,
	`updated_at` integer NOT NULL,
	`updated_by` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `service_state` DROP COLUMN `webhook_ca_pem`;