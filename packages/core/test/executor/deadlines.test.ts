import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CallScope } from '../../src/executor/call-scope';
import { DeadlineNode, Deadlines } from '../../src/executor/deadlines';
import { rejection, until } from '../helpers/executor-fixtures';

/** A node that records when (performance.now()) it was told its deadline came. */
class Probe extends DeadlineNode {
  toldAt: number | undefined;
  told = 0;
  constructor(inMs: number) {
    super();
    this.deadlineAt = performance.now() + inMs;
  }
  onDeadline(): void {
    this.told++;
    this.toldAt = performance.now();
  }
}

/** Ref'd timers of this thread (an unref'd one is not listed). */
const refedTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('Deadlines: one timer for every attempt in flight', () => {
  it('tells the node whose deadline came, only that one, never before its deadline', async () => {
    const deadlines = new Deadlines();
    const soon = new Probe(20);
    const later = new Probe(60_000);
    deadlines.add(later);
    deadlines.add(soon); // earlier than what the timer was armed for: re-armed
    await until(() => soon.told > 0, 'the first deadline comes', 1_000);
    expect(soon.told).toBe(1);
    expect(soon.toldAt!).toBeGreaterThanOrEqual(soon.deadlineAt);
    expect(later.told).toBe(0);
    expect(deadlines.size).toBe(1);
    expect(deadlines.armed).toBe(true); // for the later one
    deadlines.remove(later);
    expect(deadlines.size).toBe(0);
  });

  it('tells each of many nodes once, in any order of adding, and none early', async () => {
    const deadlines = new Deadlines();
    const probes = [35, 5, 25, 15, 5, 45].map((ms) => new Probe(ms));
    for (const p of probes) deadlines.add(p);
    await until(() => probes.every((p) => p.told > 0), 'every deadline comes', 1_000);
    await new Promise((r) => setTimeout(r, 20));
    for (const p of probes) {
      expect(p.told).toBe(1);
      expect(p.toldAt!).toBeGreaterThanOrEqual(p.deadlineAt);
    }
    expect(deadlines.size).toBe(0);
    expect(deadlines.armed).toBe(false);
  });

  it('a removed node is never told; with nothing watched the timer stops at its next firing', async () => {
    const deadlines = new Deadlines();
    const removed = new Probe(10);
    deadlines.add(removed);
    expect(deadlines.armed).toBe(true);
    deadlines.remove(removed);
    deadlines.remove(removed); // twice is harmless
    expect(deadlines.size).toBe(0);
    await until(() => !deadlines.armed, 'the timer stops', 1_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(removed.told).toBe(0);
    expect(deadlines.armed).toBe(false);
  });

  it('its timer is unref\'d: it never keeps the event loop alive', () => {
    const deadlines = new Deadlines();
    const before = refedTimers();
    const node = new Probe(60_000);
    deadlines.add(node);
    expect(deadlines.armed).toBe(true);
    expect(refedTimers()).toBe(before);
    deadlines.remove(node);
  });

  it('a process whose only pending thing is a watched attempt exits at once', () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const module = pathToFileURL(fileURLToPath(new URL('../../src/executor/call-scope.ts', import.meta.url))).href;
    const script = [
      `const { CallScope, attemptDeadlines } = await import(${JSON.stringify(module)});`,
      'const scope = new CallScope(undefined, 60_000);',
      'scope.attempt(new Promise(() => {}), 60_000).catch(() => {});',
      "if (attemptDeadlines.size !== 1 || !attemptDeadlines.armed) throw new Error('not watched');",
      "console.log('started');",
    ].join('\n');
    const started = performance.now();
    const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('started');
    expect(r.status).toBe(0);
    expect(performance.now() - started).toBeLessThan(20_000); // not the attempt's 60 s
  });
});

/** A response whose arrival the test decides, and whose body records being cancelled. */
function pendingResponse(status = 200) {
  let cancelled = false;
  let arrive!: (res: Response) => void;
  const promise = new Promise<Response>((resolve) => {
    arrive = resolve;
  });
  const response = () =>
    new Response(
      new ReadableStream({
        cancel() {
          cancelled = true;
        },
      }),
      { status },
    );
  return { promise, arrive: () => arrive(response()), cancelled: () => cancelled };
}

describe('CallScope attempts on the shared deadline timer', () => {
  it('an attempt timeout ends that call\'s attempt only; another call\'s attempt goes on and answers', async () => {
    const deadlines = new Deadlines();
    const slow = new CallScope(undefined, 60_000, deadlines);
    const other = new CallScope(undefined, 60_000, deadlines);
    const slowRes = pendingResponse();
    const otherRes = pendingResponse(201);
    const slowOutcome = rejection(slow.attempt(slowRes.promise, 20));
    const otherOutcome = other.attempt(otherRes.promise, 60_000);
    expect(deadlines.size).toBe(2);
    const error = await slowOutcome;
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect((error as DOMException).message).toBe('no response headers within 20 ms');
    expect(slow.attemptTimedOut).toBe(true);
    expect(slow.aborted).toBe(false); // transient: the call goes on
    expect(other.attemptTimedOut).toBe(false);
    expect(deadlines.size).toBe(1);
    otherRes.arrive();
    expect((await otherOutcome).status).toBe(201);
    expect(deadlines.size).toBe(0);
    slowRes.arrive();
    await until(slowRes.cancelled, 'the abandoned request\'s late answer is cancelled');
    expect(otherRes.cancelled()).toBe(false);
    slow.dispose();
    other.dispose();
  });

  it('the call\'s deadline, when first, rejects with the call\'s TimeoutError and ends the call', async () => {
    const deadlines = new Deadlines();
    const scope = new CallScope(undefined, 20, deadlines);
    const res = pendingResponse();
    const error = await rejection(scope.attempt(res.promise, 60_000));
    expect(error).toBe(scope.reason);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect((error as DOMException).message).toBe('vault.fetch did not finish within 20 ms');
    expect(scope.timedOut).toBe(true);
    expect(scope.attemptTimedOut).toBe(false);
    expect(deadlines.size).toBe(0);
    scope.dispose();
  });

  it('a late answer to an overtaken attempt neither settles nor disturbs the next attempt', async () => {
    const deadlines = new Deadlines();
    const scope = new CallScope(undefined, 60_000, deadlines);
    const first = pendingResponse();
    await rejection(scope.attempt(first.promise, 10));
    const second = pendingResponse(202);
    let settled = false;
    const outcome = scope.attempt(second.promise, 60_000).finally(() => {
      settled = true;
    });
    expect(scope.attemptTimedOut).toBe(false); // reset for the new attempt
    first.arrive();
    await until(first.cancelled, 'the first attempt\'s late answer is cancelled');
    expect(settled).toBe(false);
    expect(deadlines.size).toBe(1);
    second.arrive();
    expect((await outcome).status).toBe(202);
    expect(second.cancelled()).toBe(false);
    expect(deadlines.size).toBe(0);
    scope.dispose();
  });

  it('an answer or a failure before the deadline stops watching the attempt', async () => {
    const deadlines = new Deadlines();
    const scope = new CallScope(undefined, 60_000, deadlines);
    const ok = pendingResponse();
    const outcome = scope.attempt(ok.promise, 60_000);
    expect(deadlines.size).toBe(1);
    ok.arrive();
    await outcome;
    expect(deadlines.size).toBe(0);
    const error = new TypeError('fetch failed');
    const failed = scope.attempt(Promise.reject(error), 60_000);
    expect(deadlines.size).toBe(1);
    expect(await rejection(failed)).toBe(error);
    expect(deadlines.size).toBe(0);
    scope.dispose();
  });

  it('without any deadline an attempt is fetch\'s own promise, unwatched', () => {
    const deadlines = new Deadlines();
    const scope = new CallScope(undefined, Number.POSITIVE_INFINITY, deadlines);
    const res = pendingResponse();
    expect(scope.attempt(res.promise, Number.POSITIVE_INFINITY)).toBe(res.promise);
    expect(deadlines.size).toBe(0);
    expect(deadlines.armed).toBe(false);
    scope.dispose();
  });
});
