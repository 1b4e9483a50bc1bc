import { randomUUID } from "node:crypto";

/**
 * A tiny browser stand-in: keeps cookies, sends a fixed client address
 * (the test server trusts X-Forwarded-For) and signs in through next-auth's
 * own routes, the way the sign-in page does.
 */
export class TestClient {
  private cookies = new Map<string, string>();
  readonly ip: string;

  constructor(
    readonly baseUrl: string,
    ip?: string,
  ) {
    this.ip = ip ?? `10.${rnd()}.${rnd()}.${rnd()}`;
  }

  /** The `Cookie` header this client sends, for requests made by other means (raw node:http). */
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async fetch(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("x-forwarded-for", this.ip);
    if (this.cookies.size) headers.set("cookie", this.cookieHeader());
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    const res = await fetch(this.baseUrl + path, { ...init, headers, body, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  signUp(email: string, password: string, name?: string) {
    return this.fetch("/api/signup", { method: "POST", json: { email, password, name } });
  }

  /** Signs in with next-auth's Credentials flow; returns the callback response. */
  async signIn(email: string, password: string): Promise<Response> {
    const { csrfToken } = (await (await this.fetch("/api/auth/csrf")).json()) as { csrfToken: string };
    return this.fetch("/api/auth/callback/credentials", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, email, password, json: "true" }).toString(),
    });
  }

  /** Signs out through next-auth's route, the way the Sign out button does. */
  async signOut(): Promise<Response> {
    const { csrfToken } = (await (await this.fetch("/api/auth/csrf")).json()) as { csrfToken: string };
    return this.fetch("/api/auth/signout", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, json: "true" }).toString(),
    });
  }

  /**
   * Another client holding a copy of this one's cookies (a copied or stolen
   * session), from its own address; optionally for another server address
   * (the same app restarted on a new port).
   */
  copy(baseUrl = this.baseUrl): TestClient {
    const other = new TestClient(baseUrl);
    for (const [k, v] of this.cookies) other.cookies.set(k, v);
    return other;
  }

  async session(): Promise<{ user?: { id: string; email: string } } | null> {
    const body = await (await this.fetch("/api/auth/session")).json();
    return body && Object.keys(body).length ? body : null;
  }

  /** Signs up a fresh account and signs in; returns its email. */
  async newAccount(password = "correct horse battery"): Promise<string> {
    const email = `user-${randomUUID()}@example.test`;
    const up = await this.signUp(email, password);
    if (up.status !== 201) throw new Error(`sign-up failed: ${up.status} ${await up.text()}`);
    await this.signIn(email, password);
    if (!(await this.session())?.user) throw new Error("sign-in did not create a session");
    return email;
  }
}

const rnd = () => Math.floor(Math.random() * 250) + 1;
