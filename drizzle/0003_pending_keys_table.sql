CREATE TABLE `pending_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`spki_sha256` text NOT NULL,
	`key_type` text NOT NULL,
	`key_sealed` blob NOT NULL,
	`names_json` text NOT NULL,
	`csr_pem` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pending_keys_spki_sha256_unique` ON `pending_keys` (`spki_sha256`);