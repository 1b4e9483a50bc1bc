-- Generated images (issue 28): an image the app drew is an attachment like an
-- upload, with the prompt, seed and generator it came from. Hand-written with
-- ADD COLUMN: the table redefinition `migrate diff` proposes would drop the
-- Attachment triggers with the old table.
ALTER TABLE "Attachment" ADD COLUMN "generatedPrompt" TEXT;
ALTER TABLE "Attachment" ADD COLUMN "generatedSeed" INTEGER;
ALTER TABLE "Attachment" ADD COLUMN "generatedBy" TEXT;
