import Link from "next/link";

// A chat id that does not exist, or that belongs to someone else: the same page either way.
export default function ConversationNotFound() {
  return (
    <main id="content" tabIndex={-1} className="chat">
      <div className="empty-state">
        <h1>This conversation doesn’t exist</h1>
        <p>It may have been deleted, or the link is wrong.</p>
        <Link className="button button-primary" href="/">
          Start a new chat
        </Link>
      </div>
    </main>
  );
}
