-- Organising the sidebar (issue 24): see the SQLite migration of the same name.
ALTER TABLE "User" ADD COLUMN "theme" TEXT NOT NULL DEFAULT 'system';

ALTER TABLE "Conversation" ADD COLUMN "archivedAt" TIMESTAMP(3),
ADD COLUMN "folderId" TEXT,
ADD COLUMN "pinnedAt" TIMESTAMP(3);

CREATE TABLE "Folder" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "collapsed" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Folder_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "Folder_userId_createdAt_idx" ON "Folder"("userId", "createdAt");
CREATE INDEX "Conversation_folderId_idx" ON "Conversation"("folderId");

ALTER TABLE "Conversation" ADD CONSTRAINT "Conversation_folderId_fkey" FOREIGN KEY ("folderId") REFERENCES "Folder"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "Folder" ADD CONSTRAINT "Folder_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
