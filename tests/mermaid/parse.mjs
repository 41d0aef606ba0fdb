// Parse Mermaid diagrams with Mermaid's own parser, headless (no browser).
//
// stdin: a JSON list of diagram texts. stdout: a JSON list with, for each diagram,
// {"error": message} when Mermaid rejects it, else {"type", "states", "edges"}:
// the states and edges Mermaid read (a state diagram only), so that the caller can
// compare them with the spec's tables (a ";" in a label parses, but as phantom states).
//
// Mermaid's sanitizer (DOMPurify) needs a window at import time: jsdom provides one.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const diagrams = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const results = [];
for (const text of diagrams) {
  try {
    const { diagramType } = await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    const result = { type: diagramType, states: [], edges: [] };
    if (typeof db.getStates === "function") {
      const states = db.getStates();
      result.states = (states instanceof Map ? [...states.keys()] : Object.keys(states))
        .filter((id) => !id.endsWith("_start") && !id.endsWith("_end"));
      result.edges = db.getRelations().map((r) => [r.id1, r.id2, r.relationTitle ?? ""]);
    }
    results.push(result);
  } catch (err) {
    results.push({ error: String(err && err.message ? err.message : err) });
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
