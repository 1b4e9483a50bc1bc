/**
 * A conversation's messages form a tree: every message points at the one it
 * follows (`parentId`), so an edited question or a regenerated answer is a
 * sibling of the one it replaces and both stay. The user looks at one branch
 * at a time, named by its last message (the conversation's `activeLeafId`).
 * Pure functions over the rows, shared by the server and its tests.
 */
export interface TreeNode {
  id: string;
  parentId: string | null;
  /** A Date from the database, an ISO string from an export file. */
  createdAt: Date | string;
}

const time = (n: TreeNode) => new Date(n.createdAt).getTime();
/** Oldest first; ids (cuids grow with time) break ties within a millisecond. */
const byAge = (a: TreeNode, b: TreeNode) => time(a) - time(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Children of each message (`null` = first questions), oldest first. */
export function childrenIndex<T extends TreeNode>(nodes: readonly T[]): Map<string | null, T[]> {
  const index = new Map<string | null, T[]>();
  for (const n of nodes) {
    const list = index.get(n.parentId) ?? [];
    list.push(n);
    index.set(n.parentId, list);
  }
  for (const list of index.values()) list.sort(byAge);
  return index;
}

/** Follows the newest child down from `id` (or from the roots) to a leaf. */
export function newestLeaf<T extends TreeNode>(nodes: readonly T[], id: string | null, index = childrenIndex(nodes)): T | undefined {
  let node = id === null ? undefined : nodes.find((n) => n.id === id);
  for (let children = index.get(id); children?.length; children = index.get(node!.id)) node = children.at(-1)!;
  return node;
}

/**
 * The branch ending at `leafId`, root first. Without a leaf (or with one that
 * no longer exists) it is the branch of the newest message.
 */
export function activePath<T extends TreeNode>(nodes: readonly T[], leafId: string | null | undefined): T[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  let leaf = leafId ? byId.get(leafId) : undefined;
  if (!leaf) leaf = [...nodes].sort(byAge).at(-1);
  const path: T[] = [];
  for (let n = leaf; n && path.length <= nodes.length; n = n.parentId ? byId.get(n.parentId) : undefined) path.push(n);
  return path.reverse();
}

/** For each message on the path: its siblings' ids (itself included, oldest first) and its own place among them. */
export function versionsOnPath<T extends TreeNode>(nodes: readonly T[], path: readonly T[]): Map<string, { ids: string[]; index: number }> {
  const index = childrenIndex(nodes);
  return new Map(
    path.map((m) => {
      const ids = (index.get(m.parentId) ?? [m]).map((s) => s.id);
      return [m.id, { ids, index: ids.indexOf(m.id) }];
    }),
  );
}

/**
 * The key the engine caches this branch's model state under. A branch keeps
 * one key while it grows, and each branch has its own: the key is named after
 * the deepest message on the path that is not its parent's first child (the
 * conversation id when there is none). Switching back to a branch finds its
 * state again, so nothing is re-encoded.
 */
export function branchKey<T extends TreeNode>(conversationId: string, nodes: readonly T[], path: readonly T[]): string {
  const index = childrenIndex(nodes);
  const fork = path.findLast((m) => index.get(m.parentId)?.[0]?.id !== m.id);
  return fork ? `${conversationId}~${fork.id}` : conversationId;
}

/** Every key `branchKey` can give for these messages, to forget them all when the conversation goes. */
export function allBranchKeys<T extends TreeNode>(conversationId: string, nodes: readonly T[]): string[] {
  const index = childrenIndex(nodes);
  return [conversationId, ...nodes.filter((m) => index.get(m.parentId)?.[0]?.id !== m.id).map((m) => `${conversationId}~${m.id}`)];
}
