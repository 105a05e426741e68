CREATE TABLE `login_throttle` (
	`key` text PRIMARY KEY NOT NULL,
	`failures` integer NOT NULL,
	`window_start` integer NOT NULL,
	`locked_until` integer DEFAULT 0 NOT NULL,
	`touched` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `login_throttle_touched_idx` ON `login_throttle` (`touched`);