import type { Prng } from "../../src/util/prng.ts";
import { runMqraft } from "../support/binary.ts";
import { type ChaosCluster, ELECTION_MS } from "./chaos-cluster.ts";
import type { LinkMode } from "./proxy.ts";
import type { Recorder } from "./recorder.ts";

export type FaultKind =
  | "kill-leader"
  | "kill-follower"
  | "kill-minority"
  | "kill-all"
  | "power-loss"
  | "corrupt-minority"
  | "pause-leader"
  | "pause-follower"
  | "isolate-one"
  | "halves"
  | "one-way"
  | "ring"
  | "leader-from-clients"
  | "slow-links"
  | "kill-manager"
  | "membership"
  | "disk-full";

export const KINDS: readonly FaultKind[] = [
  "kill-leader",
  "kill-follower",
  "kill-minority",
  "kill-all",
  "power-loss",
  "corrupt-minority",
  "pause-leader",
  "pause-follower",
  "isolate-one",
  "halves",
  "one-way",
  "ring",
  "leader-from-clients",
  "slow-links",
  "kill-manager",
  "membership",
  "disk-full",
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

interface Fault {
  description: string;
  undo: () => Promise<void>;
}

/** Applies one fault to the current members `ids` and returns how to undo it. */
async function inject(
  kind: FaultKind,
  cluster: ChaosCluster,
  ids: number[],
  prng: Prng,
  brisk = false,
): Promise<Fault> {
  const leader = (await cluster.leader()) ?? prng.pick(ids);
  const followers = ids.filter((id) => id !== leader);
  const minority = shuffle(ids, prng).slice(0, Math.floor((ids.length - 1) / 2));
  const restart =
    (victims: number[], options: { repair?: boolean } = {}) =>
    async () => {
      for (const id of victims) if (!cluster.isRunning(id)) cluster.start(id, options);
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
    case "power-loss": {
      // The leader, a follower, or every broker at once: what each has fsynced must be enough.
      const victims = prng.chance(0.25) ? ids : [prng.chance(0.5) ? leader : prng.pick(followers)];
      const cuts = [];
      for (const id of victims) cuts.push(`${id}: ${await cluster.powerLoss(id)}`);
      return { description: `power loss of ${victims.join(",")} (${cuts.join("; ")})`, undo: restart(victims) };
    }
    case "corrupt-minority": {
      const victims = minority.length > 0 ? minority : [prng.pick(followers)];
      const flips = [];
      for (const id of victims) {
        await cluster.kill(id);
        flips.push(`${id}: ${cluster.corrupt(id, prng.int(0, 1 << 30))}`);
      }
      return {
        description: `corrupt record in stopped ${victims.join(",")} (${flips.join("; ")}), restarted with --repair`,
        undo: restart(victims, { repair: true }),
      };
    }
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
      for (const [i, a] of ids.entries()) {
        for (const [j, b] of ids.entries()) {
          const distance = Math.min(Math.abs(i - j), ids.length - Math.abs(i - j));
          if (i < j && distance > 1) cluster.setBetween(a, b, { kind: "blackhole" });
        }
      }
      return { description: `ring of neighbours ${ids.join("-")}`, undo: heal };
    }
    case "leader-from-clients":
      cluster.setClientLinks(leader, cut(prng));
      return { description: `leader ${leader} cut from clients`, undo: heal };
    case "slow-links": {
      const ms = prng.int(20, 200);
      for (const a of ids) for (const b of ids) if (a < b) cluster.setBetween(a, b, { kind: "delay", ms });
      return { description: `every broker link delayed ${ms} ms`, undo: heal };
    }
    case "kill-manager":
      await cluster.killManager();
      return { description: "kill -9 the manager", undo: async () => cluster.startManager() };
    case "disk-full": {
      // Far below the 1 GiB minimum: the alarm rises (a leader hands over, publishes are refused), and with at most
      // 256 KiB left a broker that keeps appending soon hits ENOSPC, reopens its data folder and takes no entries until
      // space returns. Space freed, it is restarted if it stopped (it should not), and must catch up.
      const victim = prng.chance(0.5) ? leader : prng.pick(followers);
      const free = prng.int(0, 256 << 10);
      cluster.fillDisk(victim, free);
      const again = restart([victim]);
      return {
        description: `disk of ${victim} full (${free} bytes left)`,
        undo: async () => {
          cluster.freeDisk(victim);
          await again();
        },
      };
    }
    case "membership":
      // briskly, a join or leave alone: a leave beside a partition is often refused after a long wait
      return changeMembership(cluster, ids, prng, brisk);
    default:
      return kind satisfies never;
  }
}

/**
 * Joins a spare broker, or removes one that is a member, while another fault runs (unless `alone`): the change and
 * its outcome are part of the fault's description.
 */
async function changeMembership(cluster: ChaosCluster, ids: number[], prng: Prng, alone: boolean): Promise<Fault> {
  const spare = cluster.allIds.find((id) => !cluster.founderIds.includes(id));
  const other = alone
    ? { description: "no other fault", undo: async () => {} }
    : await inject(
        prng.pick(KINDS.filter((k) => !["membership", "ring", "kill-all", "power-loss"].includes(k))),
        cluster,
        ids,
        prng,
      );
  if (spare === undefined) return other;
  let change: string;
  if (!ids.includes(spare)) {
    // A removed broker keeps running while a voter that has not applied its removal still asks for its vote
    // (docs/storage.md, "Leaving"): it rejoins once it has stopped.
    if (cluster.isRunning(spare) && (await cluster.exited(spare, 5_000)) === undefined) {
      change = `join of ${spare} put off (still stopping after its leave)`;
      return { description: `${change}, during ${other.description}`, undo: other.undo };
    }
    cluster.start(spare);
    change = `join of ${spare}`;
  } else {
    const servers = cluster.clientAddresses.filter((_, i) => cluster.allIds[i] !== spare).join(",");
    const left = await runMqraft(["leave", "--id", String(spare), "--server", servers], { timeoutMs: 20_000 });
    change =
      left.code === 0
        ? `leave of ${spare}`
        : `leave of ${spare} refused (${left.stderr.trim().split("\n").at(-1) ?? left.code})`;
  }
  return { description: `${change}, during ${other.description}`, undo: other.undo };
}

/**
 * How the nemesis picks its faults: `random` draws kinds a few seconds apart until told to stop; `each-kind` runs
 * every kind once in a seeded order (membership twice: a join, then a leave), briskly, then stops, so that a short
 * run in the suite exercises every fault there is.
 */
export type Schedule = "random" | "each-kind";

/** The kinds `each-kind` runs on a cluster of `nodes`, in an order chosen by `prng`. */
export function everyKind(nodes: number, prng: Prng): FaultKind[] {
  // A ring of majorities needs five nodes; on three it would cut nothing.
  return shuffle([...KINDS.filter((k) => nodes >= 5 || k !== "ring"), "membership"], prng);
}

/**
 * Faults with quiet periods between them, chosen by `prng`, until `running()` turns false (`random`) or every kind
 * has run (`each-kind`). A pause lasts past the election timeout, so the others elect without the paused leader.
 */
export async function runNemesis(
  cluster: ChaosCluster,
  recorder: Recorder,
  prng: Prng,
  running: () => boolean,
  schedule: Schedule = "random",
): Promise<void> {
  await Bun.sleep(1_000);
  let ids = cluster.founderIds;
  const planned = schedule === "each-kind" ? everyKind(ids.length, prng) : undefined;
  const brisk = planned !== undefined;
  while (planned === undefined ? running() : planned.length > 0) {
    ids = (await cluster.members()) ?? ids;
    const kind = planned?.shift() ?? prng.pick(ids.length >= 5 ? KINDS : KINDS.filter((k) => k !== "ring"));
    const fault = await inject(kind, cluster, ids, prng, brisk);
    recorder.record({ type: "fault", time: recorder.now(), kind, description: fault.description });
    const pause = kind === "pause-leader" || kind === "pause-follower";
    const hold = pause
      ? prng.int(ELECTION_MS * 2, ELECTION_MS * (brisk ? 3 : 6))
      : brisk
        ? prng.int(400, 1_000)
        : prng.int(1_000, 4_000);
    await Bun.sleep(hold);
    await fault.undo();
    await Bun.sleep(brisk ? prng.int(300, 800) : prng.int(1_000, 3_000));
  }
}
