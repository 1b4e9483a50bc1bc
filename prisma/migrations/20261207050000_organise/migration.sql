-- Organising the sidebar (issue 24): folders, pins, an archive, and each
-- user's colour scheme. Hand-written with ADD COLUMN: the table redefinition
-- `migrate diff` proposes would drop and copy the User and Conversation
-- tables (and any trigger on them) for four nullable or defaulted columns.
CREATE TABLE "Folder" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "collapsed" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Folder_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "Folder_userId_createdAt_idx" ON "Folder"("userId", "createdAt");

ALTER TABLE "User" ADD COLUMN "theme" TEXT NOT NULL DEFAULT 'system';

ALTER TABLE "Conversation" ADD COLUMN "folderId" TEXT REFERENCES "Folder" ("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "Conversation" ADD COLUMN "pinnedAt" DATETIME;
ALTER TABLE "Conversation" ADD COLUMN "archivedAt" DATETIME;
CREATE INDEX "Conversation_folderId_idx" ON "Conversation"("folderId");
