-- LoRA adapters an answer used (issue 26), shown with its stats. ADD COLUMN,
-- not the table redefinition `migrate diff` proposes (it would drop Message's triggers).
ALTER TABLE "Message" ADD COLUMN "adapters" JSONB;
