/** The set-up every capture test file repeated, as one vitest fixture. Kept apart from capture-harness.ts,
 * which Playwright specs and benches import too and which must therefore not import vitest. */
import { afterAll, beforeAll } from "vitest";
import { NamedPrograms, TrafficProcess, trafficScript, VethLink, type VethOptions } from "./capture-harness";

/** What a describe block of capture tests shares: programs with chosen names, optionally one veth link
 * made before its tests, and the processes and links its tests start, all removed after them. */
export interface CaptureLab {
  /** The link made before the tests; only with `useCaptureLab({ link })`. */
  readonly link: VethLink;
  readonly programs: NamedPrograms;
  /** Starts capture-traffic.py as process `name` with `args` (its mode first), inside `netns` when given;
   * stopped after the tests. */
  traffic(name: string, args: string[], netns?: string): TrafficProcess;
  /** A link of a test, destroyed after the tests (after the processes that use it are stopped). */
  keep<L extends { destroy(): void }>(link: L): L;
}

/** Registers the lab's beforeAll/afterAll in the enclosing describe block. */
export function useCaptureLab(options: { link?: VethOptions } = {}): CaptureLab {
  let programs: NamedPrograms | undefined;
  let link: VethLink | undefined;
  const procs: TrafficProcess[] = [];
  const links: { destroy(): void }[] = [];
  beforeAll(() => {
    programs = new NamedPrograms();
    if (options.link) link = new VethLink().create(options.link);
  });
  afterAll(() => {
    for (const p of procs) p.stop();
    for (const l of links) l.destroy();
    link?.destroy();
    programs?.cleanup();
  });
  const made = <T>(thing: T | undefined, what: string): T => {
    if (thing === undefined)
      throw new Error(`the capture lab has no ${what} (before beforeAll, or not asked for)`);
    return thing;
  };
  return {
    get link() {
      return made(link, "link");
    },
    get programs() {
      return made(programs, "programs");
    },
    traffic(name, args, netns) {
      const argv = [made(programs, "programs").path(name), trafficScript, ...args];
      const proc = TrafficProcess.start(netns === undefined ? argv : ["ip", "netns", "exec", netns, ...argv]);
      procs.push(proc);
      return proc;
    },
    keep(l) {
      links.push(l);
      return l;
    },
  };
}
