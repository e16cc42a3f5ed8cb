import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN_USER, ClientAuth, type Principal, type UserDirectory } from "../../src/auth/client-auth.ts";
import { forbidden } from "../../src/auth/request-permission.ts";
import { hashToken, newToken, tokenUser } from "../../src/auth/user-token.ts";
import type { MqraftError } from "../../src/util/errors.ts";
import type { ServerInbound } from "../../src/wire/index.ts";

type Row = NonNullable<ReturnType<UserDirectory["get"]>>;

/** A users table as the state machine keeps it, changed by hand. */
class FakeUsers implements UserDirectory {
  readonly rows = new Map<string, Row>();
  version = 0;
  get size(): number {
    return this.rows.size;
  }
  get(name: string): Row | undefined {
    return this.rows.get(name);
  }
  async add(name: string, permissions: Partial<Row> = {}): Promise<string> {
    const token = newToken(name);
    this.rows.set(name, {
      name,
      hash: await hashToken(token),
      admin: false,
      publish: [],
      subscribe: [],
      ...permissions,
    });
    this.version++;
    return token;
  }
  remove(name: string): void {
    this.rows.delete(name);
    this.version++;
  }
}

const ADMIN = new TextEncoder().encode("sixteen bytes or more");
const publish = (topic: string): ServerInbound => ({ type: "publish", id: 1, topic, data: new Uint8Array(1) });

describe("client authentication", () => {
  test("tokens name their user, and anything not shaped like one names nobody", () => {
    const token = newToken("alice");
    expect(tokenUser(token)).toBe("alice");
    expect(tokenUser(`${token}x`)).toBeUndefined();
    expect(tokenUser("alice")).toBeUndefined();
    expect(tokenUser("mqraft::AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).toBeUndefined();
  });

  test("auth is off with no user and no admin token: every client may do everything, with or without a token", async () => {
    const auth = new ClientAuth(() => new FakeUsers(), undefined);
    expect(auth.required).toBe(false);
    const principal = await auth.authenticate(undefined);
    expect(forbidden(principal, publish("anything"))).toBeUndefined();
  });

  test("with a user: its token is checked, a wrong or foreign one refused, no token admitted for status only", async () => {
    const users = new FakeUsers();
    const token = await users.add("alice", { publish: ["orders*"] });
    const auth = new ClientAuth(() => users, undefined);
    const alice = await auth.authenticate(token);
    expect(alice).toMatchObject({ name: "alice", admin: false });
    expect(forbidden(alice, publish("orders1"))).toBeUndefined();
    expect(forbidden(alice, publish("billing"))).toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("permission: publish"),
    });
    expect(forbidden(alice, { type: "list-users", id: 2 })?.message).toContain("permission: admin");
    // the same secret under another user's name, a made-up token, and one with a character changed
    await users.add("bob");
    // (the changed character must differ from the one it replaces: a token ending in "A" would stay the same)
    const changed = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    for (const bad of [token.replace("alice", "bob"), newToken("alice"), changed]) {
      const refused = await auth.authenticate(bad).catch((e: MqraftError) => e);
      expect(refused).toMatchObject({ code: "UNAUTHENTICATED" });
    }
    const none = await auth.authenticate(undefined);
    expect(forbidden(none, { type: "status", id: 3 })).toBeUndefined();
    expect(forbidden(none, publish("orders1"))).toMatchObject({ code: "UNAUTHENTICATED" });
  });

  test("the admin token is an admin; another token of its length is not", async () => {
    const auth = new ClientAuth(() => new FakeUsers(), ADMIN);
    expect(auth.required).toBe(true);
    expect(await auth.authenticate("sixteen bytes or more")).toMatchObject({ name: ADMIN_TOKEN_USER, admin: true });
    expect(await auth.authenticate("sixteen bytes or mord").catch((e: MqraftError) => e.code)).toBe("UNAUTHENTICATED");
  });

  test("recheck ends the sessions of a removed user, and those admitted while auth was off once it is on", async () => {
    const users = new FakeUsers();
    const auth = new ClientAuth(() => users, undefined);
    const ended: string[] = [];
    const admit = (key: string, principal: Principal) =>
      auth.admitted({ key }, principal, (why) => ended.push(`${key}: ${why.code}`));
    admit("before auth", await auth.authenticate(undefined));
    const token = await users.add("alice", { subscribe: [">"] });
    const carol = await users.add("carol", { subscribe: [">"] });
    auth.recheck();
    expect(ended).toEqual(["before auth: UNAUTHENTICATED"]);
    admit("alice", await auth.authenticate(token));
    admit("carol", await auth.authenticate(carol));
    admit("tokenless", await auth.authenticate(undefined));
    auth.recheck();
    expect(ended).toHaveLength(1);
    users.remove("alice");
    auth.recheck();
    expect(ended).toEqual(["before auth: UNAUTHENTICATED", "alice: UNAUTHENTICATED"]);
    const again = await auth.authenticate(token).catch((e: MqraftError) => e.code);
    expect(again).toBe("UNAUTHENTICATED");
  });
});
