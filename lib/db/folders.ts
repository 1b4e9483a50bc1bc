import "server-only";
import { AppError } from "@/lib/errors";
import { db } from "./client";

/** How many chats of one folder the sidebar gets at once (the most recently active). */
export const FOLDER_CHATS_MAX = 200;

export interface FolderSummary {
  id: string;
  name: string;
  /** Shown closed in the sidebar. */
  collapsed: boolean;
  createdAt: Date;
}

export interface FolderChat {
  id: string;
  title: string;
  titleByUser: boolean;
  updatedAt: Date;
}

const folderSelect = { id: true, name: true, collapsed: true, createdAt: true } as const;
const notFound = () => new AppError("not_found:folder", "Folder not found.");

/**
 * The user's folders by name, each with its chats that are neither archived
 * nor pinned (those show under Archived and Pinned), most recently active
 * first, at most FOLDER_CHATS_MAX of them (`more` says there are others).
 */
export async function listFolders({ userId }: { userId: string }): Promise<(FolderSummary & { conversations: FolderChat[]; more: boolean })[]> {
  const folders = await db.folder.findMany({ where: { userId }, orderBy: [{ name: "asc" }, { createdAt: "asc" }], select: folderSelect });
  if (folders.length === 0) return [];
  const chats = await Promise.all(
    folders.map((f) =>
      db.conversation.findMany({
        where: { userId, folderId: f.id, archivedAt: null, pinnedAt: null },
        orderBy: [{ updatedAt: "desc" }, { id: "desc" }],
        take: FOLDER_CHATS_MAX + 1,
        select: { id: true, title: true, titleByUser: true, updatedAt: true },
      }),
    ),
  );
  return folders.map((f, i) => ({ ...f, conversations: chats[i]!.slice(0, FOLDER_CHATS_MAX), more: chats[i]!.length > FOLDER_CHATS_MAX }));
}

export function createFolder({ userId, name }: { userId: string; name: string }): Promise<FolderSummary> {
  return db.folder.create({ data: { userId, name }, select: folderSelect });
}

/** Renames it, or opens or closes it in the sidebar; another user's folder is *not found*. */
export async function updateFolderOrThrow({ id, userId, name, collapsed }: { id: string; userId: string; name?: string; collapsed?: boolean }): Promise<FolderSummary> {
  const { count } = await db.folder.updateMany({ where: { id, userId }, data: { name, collapsed } });
  if (!count) throw notFound();
  return db.folder.findUniqueOrThrow({ where: { id }, select: folderSelect });
}

/**
 * Deletes the folder, not its chats: they go back to the top level (the
 * foreign key sets their folderId to null, leaving their last activity as it
 * was). Another user's folder is *not found*.
 */
export async function deleteFolderOrThrow({ id, userId }: { id: string; userId: string }): Promise<void> {
  const { count } = await db.folder.deleteMany({ where: { id, userId } });
  if (!count) throw notFound();
}

/** Throws *not found* unless the folder exists and is the user's. */
export async function assertFolderOwnedOrThrow({ id, userId }: { id: string; userId: string }): Promise<void> {
  if (!(await db.folder.count({ where: { id, userId } }))) throw notFound();
}
