import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/util/semaphore';

describe('Semaphore', () => {
  it('lets `permits` holders in at once and the rest in arrival order', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const takers = [0, 1, 2, 3, 4].map((n) =>
      s.acquire().then((release) => {
        order.push(n);
        releases[n] = release;
      }),
    );
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([0, 1]);
    expect(s.held).toBe(2);
    expect(s.waiting).toBe(3);
    releases[1]!();
    releases[1]!(); // twice is once
    await takers[2];
    expect(order).toEqual([0, 1, 2]);
    expect(s.held).toBe(2);
    releases[0]!();
    releases[2]!();
    await Promise.all(takers);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    releases[3]!();
    releases[4]!();
    expect(s.held).toBe(0);
    expect(s.waiting).toBe(0);
  });

  it('never has more than `permits` holders, and serves everyone, under random interleavings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 40 }), fc.scheduler(), async (permits, holds, s) => {
        const semaphore = new Semaphore(permits);
        let inside = 0;
        let most = 0;
        let done = 0;
        const work = holds.map(async (turns) => {
          await s.schedule(Promise.resolve()); // arrive in a random order
          const release = await semaphore.acquire();
          inside++;
          most = Math.max(most, inside);
          for (let t = 0; t < turns; t++) await s.schedule(Promise.resolve());
          inside--;
          release();
          done++;
        });
        await s.waitFor(Promise.all(work));
        expect(most).toBeLessThanOrEqual(permits);
        expect(done).toBe(holds.length);
        expect(semaphore.held).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses fewer than one permit', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});

describe('Semaphore.tryAcquire', () => {
  it('takes a free permit at once and never jumps the queue', async () => {
    const s = new Semaphore(1);
    const first = s.tryAcquire();
    expect(first).toBeTypeOf('function');
    expect(s.tryAcquire()).toBeUndefined();
    const queued = s.acquire();
    first!();
    // The permit went to the one waiting, not to whoever asks next.
    expect(s.tryAcquire()).toBeUndefined();
    (await queued)();
    expect(s.held).toBe(0);
  });
});
