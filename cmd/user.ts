import { defineCommand } from "citty";
import * as v from "valibot";
import type { UserSummary } from "../src/client/index.ts";
import { firstIssue } from "../src/util/config-values.ts";
import { MAX_PATTERNS, PermissionPatternSchema, UserNameSchema } from "../src/util/user-names.ts";
import { adminArgs, print, withClient } from "./admin-client.ts";
import { usageError } from "./cli-runner.ts";
import { table } from "./client-output.ts";

/** `mqraft user add|ls|rm|rotate`: the cluster's users and their tokens (docs/security.md). Admin only. */

function parseName(raw: string | undefined): string {
  if (raw === undefined) throw usageError("a user name is needed");
  const result = v.safeParse(UserNameSchema, raw);
  if (!result.success) throw usageError(`user ${JSON.stringify(raw)}: ${firstIssue(result.issues)}`);
  return result.output;
}

/** Every value of a repeatable flag (`--publish a --publish b`, or `--publish=a`): citty keeps only the last. */
export function repeated(rawArgs: readonly string[], flag: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i] as string;
    if (word === "--") break;
    if (word === `--${flag}`) {
      const value = rawArgs[i + 1];
      if (value === undefined) throw usageError(`--${flag} needs a topic pattern`);
      values.push(value);
      i++;
    } else if (word.startsWith(`--${flag}=`)) values.push(word.slice(flag.length + 3));
  }
  if (values.length > MAX_PATTERNS) throw usageError(`--${flag}: at most ${MAX_PATTERNS} patterns`);
  for (const value of values) {
    const result = v.safeParse(PermissionPatternSchema, value);
    if (!result.success) throw usageError(`--${flag} ${JSON.stringify(value)}: ${firstIssue(result.issues)}`);
  }
  return values;
}

const nameArg = { name: { type: "positional", description: "The user's name", required: true } } as const;

function tokenLines(name: string, token: string, json: boolean | undefined): string[] {
  if (json) return [JSON.stringify({ name, token })];
  return [token, `(the token of user ${name}: shown once, the cluster keeps only its hash)`];
}

const add = defineCommand({
  meta: { name: "add", description: "Add a user and print its token, once (give it with --token or MQRAFT_TOKEN)" },
  args: {
    ...nameArg,
    publish: {
      type: "string",
      description: "A topic pattern it may publish to (repeat the flag for more): orders, orders*, orders.>",
      valueHint: "PATTERN",
    },
    subscribe: {
      type: "string",
      description: "A topic pattern it may subscribe to (repeat the flag for more)",
      valueHint: "PATTERN",
    },
    admin: { type: "boolean", description: "May do everything: membership, topics, durables, users" },
    ...adminArgs,
  },
  async run({ args, rawArgs }) {
    const name = parseName(args.name);
    const publish = repeated(rawArgs, "publish");
    const subscribe = repeated(rawArgs, "subscribe");
    const admin = args.admin === true;
    if (!admin && publish.length === 0 && subscribe.length === 0)
      throw usageError("a user needs --publish, --subscribe or --admin: without any it could do nothing");
    const token = await withClient(args, (client) => client.addUser(name, { publish, subscribe, admin }));
    print(tokenLines(name, token, args.json));
  },
});

const ls = defineCommand({
  meta: { name: "ls", description: "List the users and their permissions (never their tokens)" },
  args: adminArgs,
  async run({ args }) {
    const users = await withClient(args, (client) => client.users());
    if (args.json) print(users.map((u) => JSON.stringify(u)));
    else
      print(users.length === 0 ? ["no users (auth is off unless a broker has --admin-token-file)"] : userTable(users));
  },
});

const rm = defineCommand({
  meta: { name: "rm", description: "Remove a user: every broker refuses its token, and closes its connections" },
  args: { ...nameArg, ...adminArgs },
  async run({ args }) {
    const name = parseName(args.name);
    await withClient(args, (client) => client.removeUser(name));
    print([args.json ? JSON.stringify({ removed: name }) : `user ${name} removed`]);
  },
});

const rotate = defineCommand({
  meta: { name: "rotate", description: "Give a user a new token and print it, once; the old one stops working" },
  args: { ...nameArg, ...adminArgs },
  async run({ args }) {
    const name = parseName(args.name);
    const token = await withClient(args, (client) => client.rotateUser(name));
    print(tokenLines(name, token, args.json));
  },
});

function userTable(users: UserSummary[]): string[] {
  const list = (patterns: string[]) => (patterns.length === 0 ? "-" : patterns.join(" "));
  const rows = users.map((u) => [
    u.name,
    u.admin ? "yes" : "no",
    list(u.publish),
    list(u.subscribe),
    new Date(u.rotated).toISOString(),
  ]);
  return table([["USER", "ADMIN", "PUBLISH", "SUBSCRIBE", "TOKEN SINCE"], ...rows]);
}

export default defineCommand({
  meta: { name: "user", description: "Users and tokens: user add|ls|rm|rotate (admin)" },
  subCommands: { add, ls, rm, rotate },
});
