/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native addons and packages that load files at run time stay outside the bundle.
  serverExternalPackages: [
    "@fugood/llama.node",
    "node-llama-cpp",
    "better-sqlite3",
    "@prisma/adapter-better-sqlite3",
    "@prisma/adapter-pg",
    "pg",
    "@prisma/client",
    // The PostgreSQL client (prisma/postgresql/schema.prisma), generated beside @prisma/client's.
    ".prisma/client-pg",
    "sharp",
    "@huggingface/transformers",
    "onnxruntime-node",
    // Model downloads (lib/models): ipull loads a native addon (@reflink/reflink) at run time.
    "ipull",
  ],
  // `npm test` runs `tsc --noEmit` itself; checking again inside every build
  // would only slow down `npm start` on a fresh clone.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
  experimental: {
    // The proxy (proxy.ts) runs on pages only; a page never needs a body, so
    // what Next.js buffers for it stays small.
    proxyClientMaxBodySize: "64kb",
  },
  // Ollama serves OpenAI's API under its own address too (`<ollama host>/v1`): a client given
  // http://host:3000/ollama as an Ollama server reaches /v1 there.
  async rewrites() {
    return [{ source: "/ollama/v1/:path*", destination: "/v1/:path*" }];
  },
  async headers() {
    return [
      {
        // Every response. Pages get their Content-Security-Policy (with a nonce) from proxy.ts.
        source: "/:path*",
        headers: [
          { key: "X-Frame-Options", value: "DENY" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          // Not no-referrer: with it browsers send `Origin: null` on same-origin POSTs, which the origin check refuses.
          { key: "Referrer-Policy", value: "same-origin" },
          { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()" },
        ],
      },
      // Private data: never stored by a browser or a proxy cache, and nothing
      // in an API response may run or be framed. Headers set here win over a
      // route's own, so the images (/api/uploads/:id), which set private,
      // immutable caching and a sandboxing CSP themselves, are left out.
      // The files themselves: their errors (401, 404) get the sandboxing CSP too; a file's own
      // response sets the same policy beside its caching.
      { source: "/api/uploads/:id", headers: [{ key: "Content-Security-Policy", value: "default-src 'none'; sandbox" }] },
      ...["/api/:path((?!uploads/[^/]+$).*)", "/v1/:path*", "/ollama/:path*"].map((source) => ({
        source,
        headers: [
          // no-transform: this header replaces a route's own, and without it Next.js gzips the
          // answers' event streams, holding tokens back in the compressor's buffer.
          { key: "Cache-Control", value: "no-store, no-transform" },
          { key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'" },
        ],
      })),
    ];
  },
};

export default nextConfig;
