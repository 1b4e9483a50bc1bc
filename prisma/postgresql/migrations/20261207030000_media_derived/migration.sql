-- Uploads of every kind (issue 22): see the SQLite migration of the same name.
ALTER TABLE "Attachment" ADD COLUMN "sourceId" TEXT;
ALTER TABLE "Attachment" ADD COLUMN "placeIndex" INTEGER;
ALTER TABLE "Attachment" ADD COLUMN "placeLabel" TEXT;
ALTER TABLE "Attachment" ADD COLUMN "placeTime" DOUBLE PRECISION;
ALTER TABLE "Attachment" ADD COLUMN "placePage" INTEGER;
ALTER TABLE "Attachment" ADD COLUMN "mediaInfo" TEXT;
CREATE INDEX "Attachment_sourceId_idx" ON "Attachment"("sourceId");
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_sourceId_fkey" FOREIGN KEY ("sourceId") REFERENCES "Attachment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Only images go to the image library's work queue.
CREATE OR REPLACE FUNCTION "Attachment_index_after_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."mediaType" LIKE 'image/%' THEN
        INSERT INTO "ImageIndex" ("attachmentId", "userId", "createdAt") VALUES (NEW."id", NEW."userId", NEW."createdAt") ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
