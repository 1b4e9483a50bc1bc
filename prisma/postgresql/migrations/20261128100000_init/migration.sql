-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "passwordHash" TEXT NOT NULL,
    "tokenVersion" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RevokedSession" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RevokedSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Conversation" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "title" TEXT NOT NULL DEFAULT 'New conversation',
    "titleByUser" BOOLEAN NOT NULL DEFAULT false,
    "model" TEXT,
    "systemPrompt" TEXT,
    "settings" JSONB,
    "activeLeafId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Conversation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Message" (
    "id" TEXT NOT NULL,
    "conversationId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "parts" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'complete',
    "error" TEXT,
    "finishReason" TEXT,
    "model" TEXT,
    "parentId" TEXT,
    "promptTokens" INTEGER,
    "reusedTokens" INTEGER,
    "completionTokens" INTEGER,
    "ttftMs" INTEGER,
    "tokensPerSecond" DOUBLE PRECISION,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Attachment" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "mediaType" TEXT NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "byteSize" INTEGER NOT NULL,
    "storageKey" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Attachment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ImageIndex" (
    "attachmentId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "embedding" BYTEA,
    "embeddingModel" TEXT,
    "caption" TEXT,
    "captionStatus" TEXT NOT NULL DEFAULT 'pending',
    "textStale" BOOLEAN NOT NULL DEFAULT true,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "indexedAt" TIMESTAMP(3),

    CONSTRAINT "ImageIndex_pkey" PRIMARY KEY ("attachmentId")
);

-- CreateTable
CREATE TABLE "MessageAttachment" (
    "messageId" TEXT NOT NULL,
    "attachmentId" TEXT NOT NULL,

    CONSTRAINT "MessageAttachment_pkey" PRIMARY KEY ("messageId","attachmentId")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Preset" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "systemPrompt" TEXT,
    "settings" JSONB NOT NULL,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Preset_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE INDEX "RevokedSession_expiresAt_idx" ON "RevokedSession"("expiresAt");

-- CreateIndex
CREATE INDEX "Conversation_userId_updatedAt_idx" ON "Conversation"("userId", "updatedAt");

-- CreateIndex
CREATE INDEX "Message_conversationId_position_idx" ON "Message"("conversationId", "position");

-- CreateIndex
CREATE INDEX "Message_parentId_idx" ON "Message"("parentId");

-- CreateIndex
CREATE UNIQUE INDEX "Attachment_userId_sha256_key" ON "Attachment"("userId", "sha256");

-- CreateIndex
CREATE INDEX "ImageIndex_userId_createdAt_idx" ON "ImageIndex"("userId", "createdAt");

-- CreateIndex
CREATE INDEX "ImageIndex_status_createdAt_idx" ON "ImageIndex"("status", "createdAt");

-- CreateIndex
CREATE INDEX "MessageAttachment_attachmentId_idx" ON "MessageAttachment"("attachmentId");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- CreateIndex
CREATE INDEX "ApiKey_userId_createdAt_idx" ON "ApiKey"("userId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Preset_userId_name_key" ON "Preset"("userId", "name");

-- AddForeignKey
ALTER TABLE "RevokedSession" ADD CONSTRAINT "RevokedSession_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Conversation" ADD CONSTRAINT "Conversation_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "Conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Message"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImageIndex" ADD CONSTRAINT "ImageIndex_attachmentId_fkey" FOREIGN KEY ("attachmentId") REFERENCES "Attachment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MessageAttachment" ADD CONSTRAINT "MessageAttachment_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MessageAttachment" ADD CONSTRAINT "MessageAttachment_attachmentId_fkey" FOREIGN KEY ("attachmentId") REFERENCES "Attachment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Preset" ADD CONSTRAINT "Preset_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written below (not in the Prisma schema); the SQLite migrations do
-- the same with SQLite's own triggers and FTS5.

-- Every attachment gets its index entry (a pending job) the moment it is
-- stored, whichever path stored it (chat upload, /v1 intake, import).
CREATE FUNCTION "Attachment_index_after_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "ImageIndex" ("attachmentId", "userId", "createdAt") VALUES (NEW."id", NEW."userId", NEW."createdAt") ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER "Attachment_index_after_insert" AFTER INSERT ON "Attachment"
    FOR EACH ROW EXECUTE FUNCTION "Attachment_index_after_insert"();

-- Full-text search over each image's caption and the chat text around it
-- (the question it was sent with and the answers). Written by the indexer;
-- not a Prisma model, queried with $queryRaw. The caption weighs A, the chat
-- text B (ranked 1.0 and 0.5: SQLite's bm25 weights are 2.0 and 1.0). It goes
-- with its index entry.
CREATE TABLE "ImageText" (
    "attachmentId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "caption" TEXT NOT NULL DEFAULT '',
    "context" TEXT NOT NULL DEFAULT '',
    "search" TSVECTOR GENERATED ALWAYS AS (setweight(to_tsvector('english', "caption"), 'A') || setweight(to_tsvector('english', "context"), 'B')) STORED,

    CONSTRAINT "ImageText_pkey" PRIMARY KEY ("attachmentId"),
    CONSTRAINT "ImageText_attachmentId_fkey" FOREIGN KEY ("attachmentId") REFERENCES "ImageIndex"("attachmentId") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "ImageText_search_idx" ON "ImageText" USING GIN ("search");
CREATE INDEX "ImageText_userId_idx" ON "ImageText"("userId");

-- The chat text around an image changes when it is sent in a message, when
-- that message or an answer to it is written, and when messages go away:
-- mark the text stale for the indexer to rebuild.
CREATE FUNCTION "MessageAttachment_text_stale"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "ImageIndex" SET "textStale" = true
    WHERE "attachmentId" = CASE WHEN TG_OP = 'DELETE' THEN OLD."attachmentId" ELSE NEW."attachmentId" END;
    RETURN NULL;
END $$;
CREATE TRIGGER "MessageAttachment_text_after_insert" AFTER INSERT ON "MessageAttachment"
    FOR EACH ROW EXECUTE FUNCTION "MessageAttachment_text_stale"();
CREATE TRIGGER "MessageAttachment_text_after_delete" AFTER DELETE ON "MessageAttachment"
    FOR EACH ROW EXECUTE FUNCTION "MessageAttachment_text_stale"();

CREATE FUNCTION "Message_text_stale"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "ImageIndex" SET "textStale" = true WHERE "attachmentId" IN (
        SELECT "attachmentId" FROM "MessageAttachment"
        WHERE "messageId" = NEW."parentId" OR (TG_OP = 'UPDATE' AND "messageId" = NEW."id")
    );
    RETURN NULL;
END $$;
CREATE TRIGGER "Message_text_after_insert" AFTER INSERT ON "Message"
    FOR EACH ROW WHEN (NEW."parentId" IS NOT NULL) EXECUTE FUNCTION "Message_text_stale"();
CREATE TRIGGER "Message_text_after_update" AFTER UPDATE OF "parts", "status" ON "Message"
    FOR EACH ROW EXECUTE FUNCTION "Message_text_stale"();
