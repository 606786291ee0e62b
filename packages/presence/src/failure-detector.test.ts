import { FailureDetector, assertDetectorTimes } from './failure-detector';

describe('FailureDetector', () => {
  let clock = 0;
  const detector = () => new FailureDetector({ suspicionTimeoutMs: 750, now: () => clock });
  beforeEach(() => {
    clock = 1_000;
  });

  it('declares a server dead once it has been silent past the timeout, and only once', () => {
    const d = detector();
    expect(d.heard('ms1', 1)).toBe('new');
    clock += 250;
    expect(d.heard('ms1', 1)).toBe('alive');
    clock += 750;
    expect(d.sweep()).toEqual([]);
    clock += 1;
    expect(d.sweep()).toEqual([{ serverId: 'ms1', incarnation: 1, silentMs: 751 }]);
    clock += 5_000;
    expect(d.sweep()).toEqual([]);
  });

  it('keeps a server whose beacons come late but within the timeout (a 300 ms pause)', () => {
    const d = detector();
    d.heard('ms1', 1);
    for (let i = 0; i < 8; i++) {
      clock += 250 + 300;
      expect(d.sweep()).toEqual([]);
      d.heard('ms1', 1);
    }
  });

  it('recognises a dead incarnation that speaks again, and welcomes its next life', () => {
    const d = detector();
    d.heard('ms1', 1);
    clock += 8_000; // SIGSTOP
    expect(d.sweep().map((x) => x.incarnation)).toEqual([1]);
    expect(d.heard('ms1', 1)).toBe('dead');
    expect(d.isDead('ms1', 1)).toBe(true);
    expect(d.heard('ms1', 2)).toBe('new');
    expect(d.heard('ms1', 1)).toBe('dead');
    expect(d.isDead('ms1', 2)).toBe(false);
  });

  it('ignores a late beacon of an older incarnation', () => {
    const d = detector();
    d.heard('ms1', 3);
    expect(d.heard('ms1', 2)).toBe('stale');
  });

  it('a pardon gives every server a fresh start (the detector could not listen)', () => {
    const d = detector();
    d.heard('ms1', 1);
    d.heard('ms2', 1);
    clock += 3_000; // our own bus was down, or our loop stalled
    d.pardon();
    clock += 500;
    expect(d.sweep()).toEqual([]);
    d.heard('ms1', 1);
    clock += 500;
    expect(d.sweep().map((x) => x.serverId)).toEqual(['ms2']);
  });

  it('takes another replica\'s verdict as its own', () => {
    const d = detector();
    d.heard('ms1', 1);
    d.learnDead('ms1', 1);
    expect(d.heard('ms1', 1)).toBe('dead');
    clock += 5_000;
    expect(d.sweep()).toEqual([]);
  });

  it('forgets a server that left in good order', () => {
    const d = detector();
    d.heard('ms1', 1);
    d.forget('ms1');
    clock += 10_000;
    expect(d.sweep()).toEqual([]);
    expect(d.isDead('ms1', 1)).toBe(false);
  });

  it('refuses a timeout shorter than 3 beacon intervals', () => {
    expect(() => assertDetectorTimes(600, 250)).toThrow(/at least 3 x/);
    expect(() => assertDetectorTimes(750, 250)).not.toThrow();
    expect(() => new FailureDetector({ suspicionTimeoutMs: 0 })).toThrow(RangeError);
  });
});
