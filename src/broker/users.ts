import type { Permissions } from "../util/user-names.ts";
import { type ApplyResult, refusal } from "./results.ts";
import type { UserCommand } from "./users-commands.ts";

/** Users a cluster holds at most: each is a Map entry on every broker and a record in every snapshot. */
export const MAX_USERS = 10_000;

export interface UserRecord extends Permissions {
  name: string;
  /** `Bun.password` hash of the user's current token. */
  hash: string;
  /** State-machine time (ms) of the add, and of the last token rotation (the add's time until then). */
  created: number;
  rotated: number;
}

/**
 * The users of the cluster, part of the replicated state: changed only by committed user-* commands, so every
 * broker refuses a removed user's token once it has applied the removal. `version` counts changes, so that the node
 * can tell cheaply whether to look at its open sessions again.
 */
export class Users {
  private readonly byName = new Map<string, UserRecord>();
  private changes = 0;

  get version(): number {
    return this.changes;
  }

  get size(): number {
    return this.byName.size;
  }

  get(name: string): UserRecord | undefined {
    return this.byName.get(name);
  }

  /** In the order they were added. */
  records(): IterableIterator<UserRecord> {
    return this.byName.values();
  }

  /** Adds a record read from a snapshot. */
  restore(record: UserRecord): void {
    this.byName.set(record.name, record);
    this.changes++;
  }

  apply(command: UserCommand, time: number): ApplyResult {
    const existing = this.byName.get(command.name);
    switch (command.type) {
      case "user-add": {
        if (existing !== undefined)
          return refusal("REFUSED", `user ${command.name} exists; remove it first, or rotate its token`);
        if (this.byName.size >= MAX_USERS)
          return refusal("REFUSED", `the cluster holds ${MAX_USERS} users, the most it keeps; remove one first`);
        const { name, hash, publish, subscribe, admin } = command;
        this.byName.set(name, { name, hash, publish, subscribe, admin, created: time, rotated: time });
        break;
      }
      case "user-remove":
        if (existing === undefined) return refusal("NOT_FOUND", `no user ${command.name}`);
        this.byName.delete(command.name);
        break;
      case "user-rotate":
        if (existing === undefined) return refusal("NOT_FOUND", `no user ${command.name}`);
        existing.hash = command.hash;
        existing.rotated = time;
        break;
      default:
        return command satisfies never;
    }
    this.changes++;
    return { type: command.type, name: command.name };
  }
}
