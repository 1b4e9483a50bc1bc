/** Tells the sidebar that the list of conversations (or a title) may have changed. */
export const CONVERSATIONS_CHANGED = "lvc:conversations-changed";
export const conversationsChanged = () => window.dispatchEvent(new Event(CONVERSATIONS_CHANGED));

/** Drafts are kept per conversation in the tab's session storage under this prefix. */
export const DRAFT_PREFIX = "lvc:draft:";

/** Forgets every kept draft: at sign-in and sign-out, so the next person in this tab never sees them. */
export function clearDrafts() {
  for (const key of Object.keys(sessionStorage)) if (key.startsWith(DRAFT_PREFIX)) sessionStorage.removeItem(key);
}
