import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lifecycleEdges, lifecycleMermaid } from '../../src/machine/lifecycle-diagram';

describe('the lifecycle diagram in docs/concepts.md', () => {
  it('is the one generated from the machine definition', () => {
    const doc = readFileSync(new URL('../../../../docs/concepts.md', import.meta.url), 'utf8');
    expect(doc).toContain(`\`\`\`mermaid\n${lifecycleMermaid()}\n\`\`\``);
  });

  it('lists the design transitions', () => {
    const edges = lifecycleEdges().map((e) => `${e.from}>${e.to}`);
    for (const edge of ['unauthorized>awaitingCode', 'awaitingCode>authorized', 'authorized>refreshing', 'refreshing>authorized', 'refreshing>reauthRequired', 'authorized>reauthRequired', 'reauthRequired>awaitingCode']) {
      expect(edges).toContain(edge);
    }
  });
});
