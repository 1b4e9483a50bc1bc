-- CreateTable
CREATE TABLE "ImageIndex" (
    "attachmentId" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "embedding" BLOB,
    "embeddingModel" TEXT,
    "caption" TEXT,
    "captionStatus" TEXT NOT NULL DEFAULT 'pending',
    "textStale" BOOLEAN NOT NULL DEFAULT true,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "indexedAt" DATETIME,
    CONSTRAINT "ImageIndex_attachmentId_fkey" FOREIGN KEY ("attachmentId") REFERENCES "Attachment" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "ImageIndex_userId_createdAt_idx" ON "ImageIndex"("userId", "createdAt");

-- CreateIndex
CREATE INDEX "ImageIndex_status_createdAt_idx" ON "ImageIndex"("status", "createdAt");


-- Every attachment gets its index entry (a pending job) the moment it is
-- stored, whichever path stored it (chat upload, /v1 intake, import).
CREATE TRIGGER "Attachment_index_after_insert" AFTER INSERT ON "Attachment"
BEGIN
    INSERT OR IGNORE INTO "ImageIndex" ("attachmentId", "userId", "createdAt") VALUES (NEW."id", NEW."userId", NEW."createdAt");
END;

-- Back-fill: images stored before this migration become pending jobs.
INSERT OR IGNORE INTO "ImageIndex" ("attachmentId", "userId", "createdAt") SELECT "id", "userId", "createdAt" FROM "Attachment";

-- Full-text search over each image's caption and the chat text around it
-- (the question it was sent with and the answers). Written by the indexer;
-- not a Prisma model, queried with $queryRaw.
CREATE VIRTUAL TABLE "ImageText" USING fts5("attachmentId" UNINDEXED, "userId" UNINDEXED, "caption", "context", tokenize = 'porter unicode61');

CREATE TRIGGER "ImageIndex_text_after_delete" AFTER DELETE ON "ImageIndex"
BEGIN
    DELETE FROM "ImageText" WHERE "attachmentId" = OLD."attachmentId";
END;

-- The chat text around an image changes when it is sent in a message, when
-- that message or an answer to it is written, and when messages go away:
-- mark the text stale for the indexer to rebuild.
CREATE TRIGGER "MessageAttachment_text_after_insert" AFTER INSERT ON "MessageAttachment"
BEGIN
    UPDATE "ImageIndex" SET "textStale" = true WHERE "attachmentId" = NEW."attachmentId";
END;

CREATE TRIGGER "MessageAttachment_text_after_delete" AFTER DELETE ON "MessageAttachment"
BEGIN
    UPDATE "ImageIndex" SET "textStale" = true WHERE "attachmentId" = OLD."attachmentId";
END;

CREATE TRIGGER "Message_text_after_insert" AFTER INSERT ON "Message" WHEN NEW."parentId" IS NOT NULL
BEGIN
    UPDATE "ImageIndex" SET "textStale" = true WHERE "attachmentId" IN (SELECT "attachmentId" FROM "MessageAttachment" WHERE "messageId" = NEW."parentId");
END;

CREATE TRIGGER "Message_text_after_update" AFTER UPDATE OF "parts", "status" ON "Message"
BEGIN
    UPDATE "ImageIndex" SET "textStale" = true WHERE "attachmentId" IN (SELECT "attachmentId" FROM "MessageAttachment" WHERE "messageId" IN (NEW."id", NEW."parentId"));
END;
