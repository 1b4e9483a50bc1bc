/** Tells the sidebar that the list of conversations (or a title) may have changed. */
export const CONVERSATIONS_CHANGED = "lvc:conversations-changed";
export const conversationsChanged = () => window.dispatchEvent(new Event(CONVERSATIONS_CHANGED));
