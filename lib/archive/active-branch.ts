/** The fields of a message that place it in its conversation's tree. */
export interface TreeNode {
  id: string;
  parentId: string | null;
  position: number;
  createdAt: Date | string;
}

/**
 * The messages of the branch the user is looking at, first question first:
 * from `activeLeafId` (or, when null, the newest message) up through its
 * parents.
 *
 * Rows written before every question recorded its parent (a first question
 * has parentId null and position 0; older rows may have null at a later
 * position) continue at the newest message one level up, which is where
 * the linear history they came from put them.
 */
export function activeBranch<M extends TreeNode>(messages: M[], activeLeafId: string | null): M[] {
  if (!messages.length) return [];
  const byId = new Map(messages.map((m) => [m.id, m]));
  const time = (m: M) => new Date(m.createdAt).getTime();
  const newest = (candidates: M[]) =>
    candidates.reduce((a, b) => (time(b) > time(a) || (time(b) === time(a) && b.position > a.position) ? b : a));
  const branch: M[] = [];
  const seen = new Set<string>();
  let at: M | undefined = (activeLeafId && byId.get(activeLeafId)) || newest(messages);
  while (at && !seen.has(at.id)) {
    branch.push(at);
    seen.add(at.id);
    const position: number = at.position;
    at = at.parentId ? byId.get(at.parentId) : position > 0 ? newestAt(messages, position - 1, newest) : undefined;
  }
  return branch.reverse();
}

function newestAt<M extends TreeNode>(messages: M[], position: number, newest: (c: M[]) => M): M | undefined {
  const level = messages.filter((m) => m.position === position);
  return level.length ? newest(level) : undefined;
}
