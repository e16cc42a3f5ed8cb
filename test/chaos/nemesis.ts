import type { Prng } from "../../src/util/prng.ts";
import { type ChaosCluster, ELECTION_MS } from "./chaos-cluster.ts";
import type { LinkMode } from "./proxy.ts";
import type { Recorder } from "./recorder.ts";

type FaultKind =
  | "kill-leader"
  | "kill-follower"
  | "kill-minority"
  | "kill-all"
  | "pause-leader"
  | "pause-follower"
  | "isolate-one"
  | "halves"
  | "one-way"
  | "ring"
  | "leader-from-clients"
  | "slow-links";

const KINDS: readonly FaultKind[] = [
  "kill-leader", "kill-follower", "kill-minority", "kill-all", "pause-leader", "pause-follower", "isolate-one", "halves", "one-way", "ring", "leader-from-clients", "slow-links",
];

/** A partition's way of cutting: drop the bytes and keep the sockets, or reset the connections. */
function cut(prng: Prng): LinkMode {
  return prng.chance(0.7) ? { kind: "blackhole" } : { kind: "reset" };
}

function shuffle<T>(items: readonly T[], prng: Prng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Applies one fault and returns how to undo it. */
async function inject(kind: FaultKind, cluster: ChaosCluster, prng: Prng): Promise<{ description: string; undo: () => Promise<void> }> {
  const ids = cluster.ids;
  const leader = (await cluster.leader()) ?? prng.pick(ids);
  const followers = ids.filter((id) => id !== leader);
  const minority = shuffle(ids, prng).slice(0, Math.floor((ids.length - 1) / 2));
  const restart = (victims: number[]) => async () => {
    for (const id of victims) if (!cluster.isRunning(id)) cluster.start(id);
  };
  const heal = async () => cluster.healNetwork();
  switch (kind) {
    case "kill-leader":
      await cluster.kill(leader);
      return { description: `kill -9 leader ${leader}`, undo: restart([leader]) };
    case "kill-follower": {
      const victim = prng.pick(followers);
      await cluster.kill(victim);
      return { description: `kill -9 follower ${victim}`, undo: restart([victim]) };
    }
    case "kill-minority":
      for (const id of minority) await cluster.kill(id);
      return { description: `kill -9 minority ${minority.join(",")}`, undo: restart(minority) };
    case "kill-all":
      for (const id of ids) await cluster.kill(id);
      return { description: "kill -9 every broker", undo: restart(ids) };
    case "pause-leader":
      cluster.pause(leader);
      return { description: `SIGSTOP leader ${leader}`, undo: async () => cluster.resume(leader) };
    case "pause-follower": {
      const victim = prng.pick(followers);
      cluster.pause(victim);
      return { description: `SIGSTOP follower ${victim}`, undo: async () => cluster.resume(victim) };
    }
    case "isolate-one": {
      const victim = prng.chance(0.5) ? leader : prng.pick(followers);
      const mode = cut(prng);
      for (const other of ids) if (other !== victim) cluster.setBetween(victim, other, mode);
      return { description: `isolate ${victim} (${mode.kind})`, undo: heal };
    }
    case "halves": {
      const small = minority.length > 0 ? minority : [leader];
      const mode = cut(prng);
      for (const a of small) for (const b of ids) if (!small.includes(b)) cluster.setBetween(a, b, mode);
      return { description: `partition ${small.join(",")} | rest (${mode.kind})`, undo: heal };
    }
    case "one-way": {
      const victim = prng.chance(0.5) ? leader : prng.pick(followers);
      const outbound = prng.chance(0.5);
      for (const other of ids) {
        if (other === victim) continue;
        if (outbound) cluster.setOneWay(victim, other, { kind: "blackhole" });
        else cluster.setOneWay(other, victim, { kind: "blackhole" });
      }
      return { description: `one-way: ${victim} ${outbound ? "cannot send" : "cannot receive"}`, undo: heal };
    }
    case "ring": {
      // Each node reaches only its neighbours: on 5 nodes every node has a majority, no two the same.
      for (const a of ids) {
        for (const b of ids) {
          const distance = Math.min(Math.abs(a - b), ids.length - Math.abs(a - b));
          if (a < b && distance > 1) cluster.setBetween(a, b, { kind: "blackhole" });
        }
      }
      return { description: "ring of neighbours", undo: heal };
    }
    case "leader-from-clients":
      cluster.setClientLinks(leader, cut(prng));
      return { description: `leader ${leader} cut from clients`, undo: heal };
    case "slow-links": {
      const ms = prng.int(20, 200);
      for (const a of ids) for (const b of ids) if (a < b) cluster.setBetween(a, b, { kind: "delay", ms });
      return { description: `every broker link delayed ${ms} ms`, undo: heal };
    }
    default:
      return kind satisfies never;
  }
}

/**
 * Faults a few seconds apart with quiet periods between them, chosen by `prng`, until `running()` turns false.
 * A pause lasts past the election timeout, so the others elect without the paused leader.
 */
export async function runNemesis(cluster: ChaosCluster, recorder: Recorder, prng: Prng, running: () => boolean): Promise<void> {
  await Bun.sleep(1_000);
  while (running()) {
    // A ring of majorities needs five nodes; on three it would cut nothing.
    const kind = prng.pick(cluster.ids.length >= 5 ? KINDS : KINDS.filter((k) => k !== "ring"));
    const fault = await inject(kind, cluster, prng);
    recorder.record({ type: "fault", time: recorder.now(), description: fault.description });
    const hold = kind === "pause-leader" || kind === "pause-follower" ? prng.int(ELECTION_MS * 2, ELECTION_MS * 6) : prng.int(1_000, 4_000);
    await Bun.sleep(hold);
    await fault.undo();
    await Bun.sleep(prng.int(1_000, 3_000));
  }
}
