CREATE TABLE `acme_challenges` (
	`token` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`domain` text NOT NULL,
	`key_authorization` text NOT NULL,
	`cert_pem` text,
	`key_sealed` blob,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `acme_challenges_domain_idx` ON `acme_challenges` (`domain`);--> statement-breakpoint
CREATE TABLE `acme_renewal` (
	`id` integer PRIMARY KEY NOT NULL,
	`lease_holder` text,
	`lease_expires_at` integer,
	`next_attempt_at` integer,
	`failures` integer DEFAULT 0 NOT NULL,
	`last_attempt_at` integer,
	`last_error` text,
	`last_success_at` integer,
	`last_version` integer,
	`cert_id` text,
	`updated_at` integer NOT NULL
);
