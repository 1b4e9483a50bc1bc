// A stand-in for `npm run engine:build` in the hand-over test: prints
// cmake-style progress, waits until the test creates FAKE_BUILD_GO, then
// "builds" by copying the llama-server that `npm run engine:build` really
// built (FAKE_BUILD_FROM: its folder, build-info.json and libraries) into LLAMA_CPP_DIR/bin.
import fs from "node:fs";
import path from "node:path";

const from = process.env.FAKE_BUILD_FROM;
const to = path.join(process.env.LLAMA_CPP_DIR, "bin");
const go = process.env.FAKE_BUILD_GO;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (let pct = 10; pct <= 90; pct += 10) {
  console.log(`[ ${pct}%] Building CXX object tools/server/CMakeFiles/llama-server.dir/server.cpp.o`);
  await sleep(200);
}
for (let waited = 0; !fs.existsSync(go); waited += 100) {
  if (waited > 240_000) {
    console.error("error: the test never said go");
    process.exit(1);
  }
  await sleep(100);
}
fs.mkdirSync(to, { recursive: true });
// The whole folder: the linked build's binary finds its llama.cpp libraries beside it (links to node_modules kept as links).
fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
fs.chmodSync(path.join(to, "llama-server"), 0o755);
console.log("[100%] Linking CXX executable bin/llama-server");
