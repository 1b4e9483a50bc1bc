-- Uploads of every kind (issue 22): a video, audio file, PDF or table is an
-- attachment like an image; what its reader derives from it (frames, pages,
-- a chart, a spectrogram) are image attachments pointing at it, deleted with
-- it. Hand-written with ADD COLUMN: the table redefinition `migrate diff`
-- proposes would drop the Attachment triggers below with the old table.
ALTER TABLE "Attachment" ADD COLUMN "sourceId" TEXT REFERENCES "Attachment" ("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "Attachment" ADD COLUMN "placeIndex" INTEGER;
ALTER TABLE "Attachment" ADD COLUMN "placeLabel" TEXT;
ALTER TABLE "Attachment" ADD COLUMN "placeTime" REAL;
ALTER TABLE "Attachment" ADD COLUMN "placePage" INTEGER;
ALTER TABLE "Attachment" ADD COLUMN "mediaInfo" TEXT;
CREATE INDEX "Attachment_sourceId_idx" ON "Attachment"("sourceId");

-- Only images go to the image library's work queue (a video's derived frames
-- do; the video file itself does not).
DROP TRIGGER "Attachment_index_after_insert";
CREATE TRIGGER "Attachment_index_after_insert" AFTER INSERT ON "Attachment"
WHEN NEW."mediaType" LIKE 'image/%'
BEGIN
    INSERT OR IGNORE INTO "ImageIndex" ("attachmentId", "userId", "createdAt") VALUES (NEW."id", NEW."userId", NEW."createdAt");
END;
