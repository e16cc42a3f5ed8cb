import { hashToken, newToken } from "../auth/user-token.ts";
import type { Command } from "../broker/commands.ts";
import type { ApplyResult } from "../broker/results.ts";
import type { Users } from "../broker/users.ts";
import { MqraftError } from "../util/errors.ts";
import type { Ok, UserList, UserRequest, UserToken } from "../wire/index.ts";

/** What the user requests need of the broker: the applied users and a way through the log. */
export interface UserAdminHost {
  users(): Users;
  propose(command: Command): Promise<ApplyResult>;
  now(): number;
}

/**
 * `mqraft user ...` on the leader. A new token is made and hashed here, and only its hash goes into the log: every
 * broker can check it, none can tell it. Hashing runs off the event loop (Bun.password's async form).
 */
export async function answerUserRequest(host: UserAdminHost, m: UserRequest): Promise<UserToken | UserList | Ok> {
  switch (m.type) {
    case "list-users":
      return {
        type: "user-list",
        id: m.id,
        users: Array.from(host.users().records(), ({ name, publish, subscribe, admin, created, rotated }) => ({
          name,
          publish,
          subscribe,
          admin,
          created,
          rotated,
        })),
      };
    case "add-user": {
      const token = newToken(m.name);
      const { name, publish, subscribe, admin } = m;
      const hash = await hashToken(token);
      await through(host, { type: "user-add", time: host.now(), name, hash, publish, subscribe, admin });
      return { type: "user-token", id: m.id, name, token };
    }
    case "rotate-user": {
      const token = newToken(m.name);
      const hash = await hashToken(token);
      await through(host, { type: "user-rotate", time: host.now(), name: m.name, hash });
      return { type: "user-token", id: m.id, name: m.name, token };
    }
    case "remove-user":
      await through(host, { type: "user-remove", time: host.now(), name: m.name });
      return { type: "ok", id: m.id };
    default:
      return m satisfies never;
  }
}

async function through(host: UserAdminHost, command: Command): Promise<void> {
  const result = await host.propose(command);
  if (result.type === "error") throw new MqraftError(result.code, result.message);
}
