CREATE SEQUENCE "public"."login_throttle_touched_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "login_throttle" (
	"key" text PRIMARY KEY NOT NULL,
	"failures" integer NOT NULL,
	"window_start" bigint NOT NULL,
	"locked_until" bigint DEFAULT 0 NOT NULL,
	"touched" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "login_throttle_touched_idx" ON "login_throttle" USING btree ("touched");