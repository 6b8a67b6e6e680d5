import { grantMachine } from './grant-machine';

/** One edge of the lifecycle: `from --event [guard]--> to`. */
export interface LifecycleEdge {
  readonly from: string;
  readonly to: string;
  readonly event: string;
  readonly guard: string | undefined;
}

/** Every transition the grant machine declares, read from its definition (so docs cannot drift). */
export function lifecycleEdges(): LifecycleEdge[] {
  const edges: LifecycleEdge[] = [];
  for (const [from, node] of Object.entries(grantMachine.config.states ?? {})) {
    const on = (node as { on?: Record<string, unknown> }).on ?? {};
    for (const [event, spec] of Object.entries(on)) {
      for (const t of Array.isArray(spec) ? spec : [spec]) {
        const transition = t as { target?: string; guard?: string };
        edges.push({ from, to: transition.target ?? from, event, guard: transition.guard });
      }
    }
  }
  return edges;
}

/**
 * The lifecycle as a Mermaid state diagram, generated from the machine definition.
 *
 * @example
 * console.log(lifecycleMermaid()); // stateDiagram-v2 …
 */
export function lifecycleMermaid(): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${String(grantMachine.config.initial)}`];
  for (const e of lifecycleEdges()) {
    lines.push(`  ${e.from} --> ${e.to}: ${e.event}${e.guard ? ` [${e.guard}]` : ''}`);
  }
  return lines.join('\n');
}
