-- LoRA adapters an answer used (issue 26): see the SQLite migration of the same name.
ALTER TABLE "Message" ADD COLUMN "adapters" JSONB;
