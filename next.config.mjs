/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native addons and packages that load files at run time stay outside the bundle.
  serverExternalPackages: [
    "@fugood/llama.node",
    "node-llama-cpp",
    "better-sqlite3",
    "@prisma/adapter-better-sqlite3",
    "@prisma/client",
    "sharp",
    "@huggingface/transformers",
    "onnxruntime-node",
  ],
  // `npm test` runs `tsc --noEmit` itself; checking again inside every build
  // would only slow down `npm start` on a fresh clone.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
