-- DropIndex
DROP INDEX "Message_conversationId_position_key";

-- AlterTable
ALTER TABLE "Message" ADD COLUMN "finishReason" TEXT;
ALTER TABLE "Message" ADD COLUMN "model" TEXT;

-- CreateTable
CREATE TABLE "Preset" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "systemPrompt" TEXT,
    "settings" JSONB NOT NULL,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Preset_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Conversation" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "title" TEXT NOT NULL DEFAULT 'New conversation',
    "titleByUser" BOOLEAN NOT NULL DEFAULT false,
    "model" TEXT,
    "systemPrompt" TEXT,
    "settings" JSONB,
    "activeLeafId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Conversation_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Conversation" ("createdAt", "id", "model", "systemPrompt", "title", "updatedAt", "userId") SELECT "createdAt", "id", "model", "systemPrompt", "title", "updatedAt", "userId" FROM "Conversation";
DROP TABLE "Conversation";
ALTER TABLE "new_Conversation" RENAME TO "Conversation";
CREATE INDEX "Conversation_userId_updatedAt_idx" ON "Conversation"("userId", "updatedAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "Preset_userId_name_key" ON "Preset"("userId", "name");

-- CreateIndex
CREATE INDEX "Message_conversationId_position_idx" ON "Message"("conversationId", "position");

-- CreateIndex
CREATE INDEX "Message_parentId_idx" ON "Message"("parentId");


-- Backfill the tree: each earlier message becomes the parent of the next one
-- (answers already pointed at their question).
UPDATE "Message" SET "parentId" = (
  SELECT p."id" FROM "Message" p WHERE p."conversationId" = "Message"."conversationId" AND p."position" = "Message"."position" - 1
) WHERE "parentId" IS NULL AND "position" > 0;
