-- Generated images (issue 28): see the SQLite migration of the same name.
ALTER TABLE "Attachment" ADD COLUMN "generatedPrompt" TEXT;
ALTER TABLE "Attachment" ADD COLUMN "generatedSeed" INTEGER;
ALTER TABLE "Attachment" ADD COLUMN "generatedBy" TEXT;
