// A valid workflow in ComfyUI's API format, as the engine would run it: links resolved through bypassed nodes,
// muted nodes left out, every widget with its default filled in (compileWorkflow), then toApiPrompt. Shared by
// `kosmos-g export --format comfy-api` and POST /api/export (the editor's "Export API" button).
import { compileWorkflow } from '../engine/compile.ts';
import type { Workflow } from '../engine/format.ts';
import type { Registry } from '../engine/registry.ts';
import { normaliseCatalogue } from './engine-port.ts';
import { toApiPrompt, type ApiPrompt } from './comfy-format.ts';

/** The caller validates first: an invalid workflow has no meaningful export. */
export function exportApiPrompt(workflow: Workflow, registry: Registry): ApiPrompt {
  const { graph } = compileWorkflow(workflow, registry);
  const titles = new Map(workflow.nodes.map((n) => [n.id, n.title]));
  const nodes = [...graph.nodes.values()].map((n) => {
    const title = titles.get(n.id);
    return { id: n.id, type: n.type, widgets: n.widgets, links: n.links, ...(title !== undefined ? { title } : {}) };
  });
  return toApiPrompt(nodes, normaliseCatalogue(registry.catalogue()));
}
