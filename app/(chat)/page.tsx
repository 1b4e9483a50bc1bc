import { getServerSession } from "next-auth";
import { SignOutButton } from "@/app/_components/sign-out-button";
import { authOptions } from "@/lib/auth/options";

export default async function HomePage() {
  const session = await getServerSession(authOptions);
  const who = session?.user?.name || session?.user?.email;
  return (
    <main className="app-main">
      <header className="app-header">
        <strong>Local Vision Chat</strong>
        <span className="muted">
          {who} <SignOutButton />
        </span>
      </header>
      <section className="welcome">
        <h1>Welcome{session?.user?.name ? `, ${session.user.name}` : ""}.</h1>
        <p>
          This assistant runs a vision-language model on this machine. Nothing you upload or type leaves it.
        </p>
      </section>
    </main>
  );
}
