import Link from "next/link";

export default function NotFound() {
  return (
    <main className="auth-page">
      <div className="empty-state">
        <h1>Page not found</h1>
        <p>There is nothing at this address.</p>
        <Link className="button button-primary" href="/">
          Back to your chats
        </Link>
      </div>
    </main>
  );
}
